package store

import (
	"reflect"
	"testing"
)

func TestValidationErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields map[string]string
		want   []string
	}{
		{"none", nil, []string{}},
		{"one", map[string]string{"email": "Enter an email address."}, []string{"email: Enter an email address."}},
		{"sorted by field", map[string]string{"name": "Enter a name.", "email": "Enter an email address."},
			[]string{"email: Enter an email address.", "name: Enter a name."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ve := &ValidationError{Fields: tt.fields}
			if got := ve.Messages(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Messages() = %q, want %q", got, tt.want)
			}
		})
	}
	ve := &ValidationError{Fields: map[string]string{"name": "Enter a name."}}
	if got, want := ve.Error(), "invalid input: name: Enter a name."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
