package templates

// APIRefProps fill Settings → API reference, made from the OpenAPI
// description.
type APIRefProps struct {
	Shell   Shell
	BaseURL string
	Groups  []APIRefGroup
	Schemas []APIRefSchema
}

// APIRefGroup is the operations on one resource.
type APIRefGroup struct {
	Name, Anchor string
	Ops          []APIRefOp
}

// APIRefOp is one operation.
type APIRefOp struct {
	Anchor, Method, Path, Summary, Doc, Scope string
	Params                                    []APIRefField
	// Body and Answer name the request's and the answer's schemas, with
	// their anchors; Answer may be a file type instead.
	Body, BodyAnchor     string
	Answer, AnswerAnchor string
	Status               string
	Errors               string
	Curl                 string
}

// APIRefSchema is one named schema and its fields.
type APIRefSchema struct {
	Name, Anchor string
	Fields       []APIRefField
}

// APIRefField is a parameter or a field of a schema.
type APIRefField struct {
	Name, In, Type, Doc string
	// TypeAnchor links a field whose type is a named schema.
	TypeAnchor string
	Required   bool
}
