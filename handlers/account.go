package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

func (h *Handlers) showAccount(c echo.Context) error {
	u := currentUser(c)
	return h.renderAccount(c, http.StatusOK, views.AccountForms{Name: u.Name, Email: u.Email})
}

func (h *Handlers) renderAccount(c echo.Context, status int, f views.AccountForms) error {
	return render(c, status, views.AccountPage(h.layout(c, "Account", "account"), f, h.tokensView(c, views.TokensView{})))
}

func (h *Handlers) updateAccount(c echo.Context) error {
	u := currentUser(c)
	f := views.AccountForms{Name: c.FormValue("name"), Email: c.FormValue("email")}
	_, err := h.store.UpdateUser(c.Request().Context(), u.ID, store.UserUpdate{
		Email: f.Email, Name: f.Name, IsSuperuser: u.IsSuperuser, IsActive: u.IsActive,
	})
	if errs, ok := formErrors(err); ok {
		f.ProfileErrors = errs
		return h.renderAccount(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	h.addFlash(c, "success", "Profile saved.")
	return c.Redirect(http.StatusSeeOther, "/account")
}

func (h *Handlers) changePassword(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	f := views.AccountForms{Name: u.Name, Email: u.Email, PasswordErrors: views.FormErrors{}}
	// Wrong current passwords count against the account like failed logins, so a
	// borrowed session cannot be used to guess the password.
	account := u.Email
	if ok, wait := h.loginByEmail.check(account); !ok {
		return &throttledError{retryAfter: wait}
	}
	ok, err := h.store.CheckPassword(ctx, u.ID, c.FormValue("current_password"))
	if err != nil {
		return err
	}
	newPW := c.FormValue("password")
	switch {
	case !ok:
		h.loginByEmail.take(account)
		f.PasswordErrors["current_password"] = "This is not your current password."
	case newPW != c.FormValue("password_confirm"):
		f.PasswordErrors["password_confirm"] = "The two new passwords differ."
	default:
		err = h.store.SetPassword(ctx, u.ID, newPW)
		if errs, isForm := formErrors(err); isForm {
			f.PasswordErrors = errs
		} else if err != nil {
			return err
		}
	}
	if len(f.PasswordErrors) > 0 {
		return h.renderAccount(c, http.StatusUnprocessableEntity, f)
	}
	// SetPassword ended every session, this one included; keep this browser logged in
	// with a fresh session, while every other browser has to log in again.
	c.Set(ctxToken, nil)
	if err := h.startSession(c, *u); err != nil {
		return err
	}
	h.addFlash(c, "success", "Password changed. Other browsers have been logged out.")
	return c.Redirect(http.StatusSeeOther, "/account")
}

// formErrors turns the store's validation errors into per-field form messages.
func formErrors(err error) (views.FormErrors, bool) {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return views.FormErrors{ve.Field: ve.Msg}, true
	case errors.Is(err, store.ErrLastSuperuser):
		return views.FormErrors{"": "This would leave no active superuser. Make another user a superuser first."}, true
	case errors.Is(err, store.ErrConflict):
		return views.FormErrors{"email": "A user with this email already exists."}, true
	}
	return nil, false
}
