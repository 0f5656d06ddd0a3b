package handlers

// HoldBackup takes the one-backup-at-a-time token as a running download would, until release.
func (h *Handlers) HoldBackup() (release func()) {
	h.backups <- struct{}{}
	return func() { <-h.backups }
}
