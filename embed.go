package main

import (
	"embed"
	"io/fs"
)

//go:embed static
var embedded embed.FS

// staticFS returns the shipped static files, rooted at static/.
func staticFS() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // the directory is embedded at build time; this cannot fail
	}
	return sub
}
