package web

import (
	"fmt"
	"net/http"
	"testing"

	"herald/store"
)

func TestValidationErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"one field", &store.ValidationError{Fields: map[string]string{"name": "Enter a name."}},
			"Some fields are invalid: name: Enter a name."},
		{"two fields, wrapped", fmt.Errorf("saving: %w", &store.ValidationError{Fields: map[string]string{"to": "Enter an address.", "name": "Enter a name."}}),
			"Some fields are invalid: name: Enter a name.; to: Enter an address."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ae := toAPIError(tt.err)
			if ae.Status != http.StatusUnprocessableEntity || ae.Message != tt.want {
				t.Errorf("got %d %q, want 422 %q", ae.Status, ae.Message, tt.want)
			}
		})
	}
}
