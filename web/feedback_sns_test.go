package web

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
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

// fakeSNS stands in for Amazon SNS on loopback: it serves a self-signed
// signing certificate, records subscription confirmations, and signs
// messages as SNS does.
type fakeSNS struct {
	srv       *httptest.Server
	key       *rsa.PrivateKey
	confirmed atomic.Int32
	ids       atomic.Int32
}

func newFakeSNS(t *testing.T) *fakeSNS {
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
	s := &fakeSNS{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/SimpleNotificationService-test.pem", func(w http.ResponseWriter, _ *http.Request) { w.Write(certPEM) })
	mux.HandleFunc("/confirm", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Action") == "ConfirmSubscription" {
			s.confirmed.Add(1)
		}
		w.Write([]byte("<ConfirmSubscriptionResponse/>"))
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// allow is the outbound.Config SNSAllowURL that trusts this server only.
func (s *fakeSNS) allow(u *url.URL) bool {
	return u.Scheme == "http" && u.Host == strings.TrimPrefix(s.srv.URL, "http://")
}

// notification signs an SES notification as SNS delivers it, with a new
// SNS MessageId each time unless id is given.
func (s *fakeSNS) notification(t *testing.T, version, message, id string) []byte {
	if id == "" {
		id = "msg-" + big.NewInt(int64(s.ids.Add(1))).String()
	}
	return s.sign(t, map[string]string{"Type": "Notification", "MessageId": id, "Message": message,
		"TopicArn": "arn:aws:sns:us-east-1:123456789012:herald", "Timestamp": time.Now().UTC().Format(time.RFC3339),
		"SignatureVersion": version, "SigningCertURL": s.srv.URL + "/SimpleNotificationService-test.pem"})
}

// confirmation signs a SubscriptionConfirmation.
func (s *fakeSNS) confirmation(t *testing.T) []byte {
	return s.sign(t, map[string]string{"Type": "SubscriptionConfirmation", "MessageId": "confirm-1", "Token": "tok",
		"Message": "You have chosen to subscribe.", "SubscribeURL": s.srv.URL + "/confirm?Action=ConfirmSubscription&Token=tok",
		"TopicArn": "arn:aws:sns:us-east-1:123456789012:herald", "Timestamp": time.Now().UTC().Format(time.RFC3339),
		"SignatureVersion": "2", "SigningCertURL": s.srv.URL + "/SimpleNotificationService-test.pem"})
}

// sign adds the signature over the canonical text, written out from the
// AWS documentation: each signed field's name and value, one a line.
func (s *fakeSNS) sign(t *testing.T, m map[string]string) []byte {
	t.Helper()
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
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, hash, digest)
	if err != nil {
		t.Fatal(err)
	}
	m["Signature"] = base64.StdEncoding.EncodeToString(sig)
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
