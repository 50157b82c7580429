package outbound

import (
	"context"
	"sync"
	"testing"

	"herald/mailer"
	"herald/store"
)

func TestSignerIsParsedOnceAndFollowsKeyChanges(t *testing.T) {
	t.Parallel()
	s := newService(t, testStore(t))
	ctx := context.Background()
	signer := func(from string) *mailer.DKIMSigner {
		t.Helper()
		sg, err := s.signer(ctx, from)
		if err != nil {
			t.Fatalf("Signer(%q): %v", from, err)
		}
		return sg
	}
	if sg := signer("news@bakery.test"); sg != nil {
		t.Fatalf("no key: got signer %v, want none", sg)
	}
	rsaKey, err := s.AddDKIMKey(ctx, "Bakery.test", "herald1", store.DKIMRSA)
	if err != nil {
		t.Fatal(err)
	}
	first := signer("news@bakery.test")
	if first == nil {
		t.Fatal("with a key: got no signer")
	}
	if again := signer("Bakery <NEWS@Bakery.TEST>"); again != first {
		t.Errorf("second call: got another signer, want the one parsed before")
	}
	if other := signer("news@other.test"); other != nil {
		t.Errorf("another domain: got a signer, want none")
	}
	ed, err := s.AddDKIMKey(ctx, "bakery.test", "herald2", store.DKIMEd25519)
	if err != nil {
		t.Fatal(err)
	}
	newer := signer("news@bakery.test")
	if newer == nil || newer == first {
		t.Fatalf("after adding a newer key: got the old signer, want the newer key's")
	}
	if _, err := s.SetDKIMKeyEnabled(ctx, ed.ID, false); err != nil {
		t.Fatal(err)
	}
	if back := signer("news@bakery.test"); back != first {
		t.Errorf("newer key disabled: got another signer, want the RSA key's, parsed once")
	}
	if err := s.DeleteDKIMKey(ctx, rsaKey.ID); err != nil {
		t.Fatal(err)
	}
	if gone := signer("news@bakery.test"); gone != nil {
		t.Errorf("every key deleted or disabled: got a signer, want none")
	}
	if _, err := s.signer(ctx, "nobody"); err == nil {
		t.Errorf("an address without a domain: got no error")
	}
}

// TestSignerUnderConcurrentChanges asks for signers from many goroutines
// while the key is turned off and on, as sending workers would; once the
// changes stop, every caller sees the final state.
func TestSignerUnderConcurrentChanges(t *testing.T) {
	t.Parallel()
	s := newService(t, testStore(t))
	ctx := context.Background()
	k, err := s.AddDKIMKey(ctx, "bakery.test", "herald1", store.DKIMEd25519)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.signer(ctx, "news@bakery.test"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 20 {
		if _, err := s.SetDKIMKeyEnabled(ctx, k.ID, i%2 == 1); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Signer while keys change: %v", err)
	}
	// The last change enabled the key.
	for range 3 {
		if sg, err := s.signer(ctx, "news@bakery.test"); err != nil || sg == nil {
			t.Fatalf("after the changes: got %v, %v, want the key's signer", sg, err)
		}
	}
	if _, err := s.SetDKIMKeyEnabled(ctx, k.ID, false); err != nil {
		t.Fatal(err)
	}
	if sg, err := s.signer(ctx, "news@bakery.test"); err != nil || sg != nil {
		t.Errorf("after disabling: got %v, %v, want no signer", sg, err)
	}
}
