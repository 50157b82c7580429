package mailer

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"

	"github.com/emersion/go-msgauth/dkim"

	"herald/mailer/addr"
)

// DKIM key algorithms, as stored on a key.
const (
	DKIMRSA     = "rsa"
	DKIMEd25519 = "ed25519"
)

// DKIMKey is a private key that signs mail for a domain, published in DNS
// under its selector.
type DKIMKey struct {
	Domain   string
	Selector string
	// Algorithm is DKIMRSA or DKIMEd25519.
	Algorithm string
	// PrivatePEM is the private key as a PKCS#8 "PRIVATE KEY" PEM block.
	PrivatePEM string
}

// GenerateDKIMKey makes a new RSA-2048 or Ed25519 key for domain and selector.
func GenerateDKIMKey(domain, selector, algorithm string) (DKIMKey, error) {
	if err := checkDKIMKey(domain, selector, algorithm); err != nil {
		return DKIMKey{}, err
	}
	var priv any
	var err error
	switch algorithm {
	case DKIMRSA:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return DKIMKey{}, fmt.Errorf("dkim: generate %s key: %w", algorithm, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return DKIMKey{}, fmt.Errorf("dkim: encode %s key: %w", algorithm, err)
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return DKIMKey{Domain: domain, Selector: selector, Algorithm: algorithm, PrivatePEM: string(block)}, nil
}

// DNSName returns the name at which the key's TXT record is published.
func (k DKIMKey) DNSName() string {
	return k.Selector + "._domainkey." + k.Domain
}

// DNSValue returns the TXT record to publish at DNSName: the public key as
// PKIX for RSA, or as its raw 32 bytes for Ed25519 (RFC 8463).
func (k DKIMKey) DNSValue() (string, error) {
	signer, err := k.signer()
	if err != nil {
		return "", err
	}
	var pub []byte
	switch p := signer.Public().(type) {
	case ed25519.PublicKey:
		pub = p
	default:
		if pub, err = x509.MarshalPKIXPublicKey(p); err != nil {
			return "", fmt.Errorf("dkim: encode public key of %s: %w", k.DNSName(), err)
		}
	}
	return "v=DKIM1; k=" + k.Algorithm + "; p=" + base64.StdEncoding.EncodeToString(pub), nil
}

// signer checks the key's names and parses its PEM, which must hold a key of
// the stated algorithm.
func (k DKIMKey) signer() (crypto.Signer, error) {
	if err := checkDKIMKey(k.Domain, k.Selector, k.Algorithm); err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(k.PrivatePEM))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("dkim: the key for %s is not a PEM \"PRIVATE KEY\" block; generate a new key", k.DNSName())
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dkim: the key for %s cannot be read (%v); generate a new key", k.DNSName(), err)
	}
	switch priv := priv.(type) {
	case *rsa.PrivateKey:
		if k.Algorithm == DKIMRSA {
			return priv, nil
		}
	case ed25519.PrivateKey:
		if k.Algorithm == DKIMEd25519 {
			return priv, nil
		}
	}
	return nil, fmt.Errorf("dkim: the key for %s is not an %s key; generate a new key", k.DNSName(), k.Algorithm)
}

// checkDKIMKey says what is wrong with a signing domain, selector or
// algorithm. The domain must already be in the form addr.Domain gives, the
// one DNS holds and d= must carry.
func checkDKIMKey(domain, selector, algorithm string) error {
	if err := checkDomainForm(domain); err != nil {
		return fmt.Errorf("dkim: %w", err)
	}
	if !addr.IsLabel(selector) {
		return fmt.Errorf("dkim: %q is not a selector: use up to 63 letters, digits and dashes, like herald1", selector)
	}
	if algorithm != DKIMRSA && algorithm != DKIMEd25519 {
		return fmt.Errorf("dkim: %q is not a key algorithm: choose %s or %s", algorithm, DKIMRSA, DKIMEd25519)
	}
	return nil
}

// checkDomainForm says what is wrong with domain, or that it is not written
// as addr.Domain writes it: lower case, internationalised names as xn--.
func checkDomainForm(domain string) error {
	d, err := addr.Domain(domain)
	if err != nil {
		return fmt.Errorf("%q is not a domain. %v", domain, err)
	}
	if d != domain {
		return fmt.Errorf("%q is not a domain as DNS writes it: give %s", domain, d)
	}
	return nil
}

// DKIMSigner adds DKIM signatures for one key. It is safe for concurrent use.
type DKIMSigner struct {
	// opts is only read after NewDKIMSigner, so workers can share it.
	opts dkim.SignOptions
}

// NewDKIMSigner parses k once for signing many messages.
func NewDKIMSigner(k DKIMKey) (*DKIMSigner, error) {
	signer, err := k.signer()
	if err != nil {
		return nil, err
	}
	return &DKIMSigner{opts: dkim.SignOptions{
		Domain:                 k.Domain,
		Selector:               k.Selector,
		Signer:                 signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
	}}, nil
}

// signedHeaders are signed when the message has them. One absent from the
// message is left out: relays add some of them (List-Unsubscribe,
// Feedback-ID) to mail that lacks them, which would break the signature.
var signedHeaders = [...]string{"From", "To", "Subject", "Date", "Message-ID", "Reply-To", "List-Unsubscribe",
	"List-Unsubscribe-Post", "List-Id", "MIME-Version", "Content-Type", "Feedback-ID"}

// sealedHeaders are signed once more than they occur, so a copy added in
// transit, such as a second From or a Reply-To pointing elsewhere, breaks the
// signature. Relays do not add them.
var sealedHeaders = []string{"From", "To", "Subject", "Reply-To"}

// Sign returns msg, a CRLF message, with a DKIM-Signature header in front.
func (s *DKIMSigner) Sign(msg []byte) ([]byte, error) {
	opts := s.opts
	opts.HeaderKeys = headerKeys(msg)
	ds, err := dkim.NewSigner(&opts)
	if err != nil {
		return nil, fmt.Errorf("dkim: %w", err)
	}
	// Close must run even after a failed Write, to end the signer's goroutine.
	_, err = ds.Write(msg)
	if cerr := ds.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("dkim: sign for %s: %w", s.opts.Domain, err)
	}
	sig := ds.Signature()
	out := make([]byte, 0, len(sig)+len(msg))
	return append(append(out, sig...), msg...), nil
}

// headerKeys lists the signedHeaders found in msg's header, then the
// sealedHeaders.
func headerKeys(msg []byte) []string {
	keys := make([]string, 0, len(signedHeaders)+len(sealedHeaders))
	var found [len(signedHeaders)]bool
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		if len(bytes.TrimRight(line, "\r")) == 0 {
			break
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name = bytes.TrimSpace(name)
		for i, h := range signedHeaders {
			found[i] = found[i] || bytes.EqualFold(name, []byte(h))
		}
	}
	for i, h := range signedHeaders {
		if found[i] {
			keys = append(keys, h)
		}
	}
	return append(keys, sealedHeaders...)
}
