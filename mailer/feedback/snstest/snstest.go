// Package snstest stands in for Amazon SNS in tests, on loopback: it
// serves a self-signed signing certificate, records subscription
// confirmations, and signs messages as SNS does.
package snstest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // SNS SignatureVersion 1 is SHA1withRSA
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// CertPath is where the server serves its signing certificate.
const CertPath = "/SimpleNotificationService-test.pem"

// Server is the stand-in. CertHits counts certificate fetches, Confirmed
// subscription confirmations.
type Server struct {
	Srv       *httptest.Server
	Key       *rsa.PrivateKey
	CertHits  atomic.Int32
	Confirmed atomic.Int32
}

// Start starts a server, over TLS when useTLS, and stops it when the test ends.
func Start(t testing.TB, useTLS bool) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.us-east-1.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	s := &Server{Key: key}
	mux := http.NewServeMux()
	mux.HandleFunc(CertPath, func(w http.ResponseWriter, _ *http.Request) {
		s.CertHits.Add(1)
		w.Write(certPEM)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Action") != "ConfirmSubscription" {
			http.NotFound(w, r)
			return
		}
		s.Confirmed.Add(1)
		w.Write([]byte("<ConfirmSubscriptionResponse/>"))
	})
	if useTLS {
		s.Srv = httptest.NewTLSServer(mux)
	} else {
		s.Srv = httptest.NewServer(mux)
	}
	t.Cleanup(s.Srv.Close)
	return s
}

// Allow trusts this server's URLs only: use it as the verifier's AllowURL.
func (s *Server) Allow(u *url.URL) bool {
	want, _ := url.Parse(s.Srv.URL)
	return u.Scheme == want.Scheme && u.Host == want.Host
}

// Sign builds a message of the given type (with example values for the
// fields not given), signs it with the given SignatureVersion as SNS
// documents, and returns it as the JSON body SNS would POST.
func (s *Server) Sign(t testing.TB, typ, version string, fields map[string]string) []byte {
	t.Helper()
	m := map[string]string{
		"Type": typ, "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn":  "arn:aws:sns:us-west-2:123456789012:MyTopic",
		"Message":   "{\"notificationType\":\"Delivery\"}\nline two",
		"Timestamp": "2012-05-02T00:54:06.655Z", "SignatureVersion": version,
		"SigningCertURL": s.Srv.URL + CertPath,
	}
	if typ != "Notification" {
		m["Token"] = "2336412f37fb687f5d51e6e241d09c8058323f60b964268bfe08ce35640228c2"
		m["SubscribeURL"] = s.Srv.URL + "/?Action=ConfirmSubscription&Token=2336412f"
	}
	for k, v := range fields {
		m[k] = v
	}
	m["Signature"] = base64.StdEncoding.EncodeToString(s.signature(t, m))
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// signature signs the canonical text, written out here from the AWS
// documentation: each signed field's name and value, one a line, in byte
// order of the names.
func (s *Server) signature(t testing.TB, m map[string]string) []byte {
	keys := []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	if m["Type"] != "Notification" {
		keys = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	var b strings.Builder
	for _, k := range keys {
		if v, ok := m[k]; ok {
			b.WriteString(k + "\n" + v + "\n")
		}
	}
	d256 := sha256.Sum256([]byte(b.String()))
	hash, digest := crypto.SHA256, d256[:]
	if m["SignatureVersion"] == "1" {
		d := sha1.Sum([]byte(b.String()))
		hash, digest = crypto.SHA1, d[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, hash, digest)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
