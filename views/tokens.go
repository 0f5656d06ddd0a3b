package views

import (
	"fmt"

	"github.com/kubestats/kubestats/store"
)

// TokensView is the API tokens section of the account page.
type TokensView struct {
	Tokens []store.APIToken
	// Name and Errors refill the create form after a rejected name.
	Name   string
	Errors FormErrors
	// New is a token just created: shown in this response only, never stored in clear.
	New     string
	NewName string
	// Unavailable is set when the list could not be loaded; the rest of the page still works.
	Unavailable bool
}

func revokeURL(t store.APIToken) string { return fmt.Sprintf("/account/tokens/%d/revoke", t.ID) }
