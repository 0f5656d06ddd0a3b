package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/kubestats/kubestats/store"
	"github.com/kubestats/kubestats/views"
)

func (h *Handlers) listUsers(c echo.Context) error {
	users, err := h.store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.UsersPage(h.layout(c, "Users", "users"), users))
}

func (h *Handlers) newUser(c echo.Context) error {
	return render(c, http.StatusOK, views.UserFormPage(h.layout(c, "New user", "users"), views.UserForm{IsActive: true}))
}

func (h *Handlers) createUser(c echo.Context) error {
	f := views.UserForm{
		Email: c.FormValue("email"), Name: c.FormValue("name"),
		IsSuperuser: c.FormValue("is_superuser") == "1", IsActive: true,
	}
	u, err := h.store.CreateUser(c.Request().Context(), store.NewUser{
		Email: f.Email, Name: f.Name, Password: c.FormValue("password"), IsSuperuser: f.IsSuperuser,
	})
	if errs, ok := formErrors(err); ok {
		f.Errors = errs
		return render(c, http.StatusUnprocessableEntity, views.UserFormPage(h.layout(c, "New user", "users"), f))
	}
	if err != nil {
		return err
	}
	h.log.Info("user created", "user_id", u.ID, "by", currentUser(c).ID)
	h.addFlash(c, "success", "User "+u.Email+" created.")
	return c.Redirect(http.StatusSeeOther, "/users")
}

func (h *Handlers) userFromParam(c echo.Context) (store.User, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.User{}, echo.NewHTTPError(http.StatusNotFound)
	}
	return h.store.GetUser(c.Request().Context(), id)
}

func (h *Handlers) showUser(c echo.Context) error {
	u, err := h.userFromParam(c)
	if err != nil {
		return err
	}
	n, err := h.store.CountUserSessions(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	f := views.UserForm{ID: u.ID, Email: u.Email, Name: u.Name, IsSuperuser: u.IsSuperuser,
		IsActive: u.IsActive, IsSelf: u.ID == currentUser(c).ID, Sessions: n}
	return render(c, http.StatusOK, views.UserFormPage(h.layout(c, u.DisplayName(), "users"), f))
}

func (h *Handlers) updateUser(c echo.Context) error {
	u, err := h.userFromParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f := views.UserForm{
		ID: u.ID, Email: c.FormValue("email"), Name: c.FormValue("name"),
		IsSuperuser: c.FormValue("is_superuser") == "1", IsActive: c.FormValue("is_active") == "1",
		IsSelf: u.ID == currentUser(c).ID,
	}
	password := c.FormValue("password")
	// Validate the password before writing anything, so a bad one changes nothing.
	if password != "" {
		err = store.ValidatePassword(password)
	}
	if err == nil {
		_, err = h.store.UpdateUser(ctx, u.ID, store.UserUpdate{Email: f.Email, Name: f.Name, IsSuperuser: f.IsSuperuser, IsActive: f.IsActive})
	}
	if err == nil && password != "" {
		err = h.store.SetPassword(ctx, u.ID, password)
	}
	if errs, ok := formErrors(err); ok {
		f.Errors = errs
		f.Sessions, _ = h.store.CountUserSessions(ctx, u.ID)
		return render(c, http.StatusUnprocessableEntity, views.UserFormPage(h.layout(c, u.DisplayName(), "users"), f))
	}
	if err != nil {
		return err
	}
	if f.IsSelf && f.IsActive && password != "" {
		// Setting one's own password ended one's own sessions; stay logged in here.
		c.Set(ctxToken, nil)
		if err := h.startSession(c, u); err != nil {
			return err
		}
	}
	h.log.Info("user updated", "user_id", u.ID, "by", currentUser(c).ID)
	h.addFlash(c, "success", "User "+f.Email+" saved.")
	return c.Redirect(http.StatusSeeOther, "/users")
}
