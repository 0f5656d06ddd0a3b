package store

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/alexedwards/argon2id"
)

// DefaultPasswordParams are fixed rather than derived from the machine, so a hash made on
// a big server verifies at the same cost on a small one (RFC 9106's second recommendation).
var DefaultPasswordParams = argon2id.Params{
	Memory:      64 * 1024,
	Iterations:  2,
	Parallelism: 2,
	SaltLength:  16,
	KeyLength:   32,
}

// passwords hashes and verifies with a bound on concurrent work: each hash allocates
// Params.Memory KiB, so unbounded logins would be a memory exhaustion attack.
type passwords struct {
	params argon2id.Params
	sem    chan struct{}
	// dummy is verified against for unknown emails, so timing does not reveal which
	// accounts exist. Made on first use: at start-up it would cost Params.Memory of RSS.
	dummyOnce sync.Once
	dummy     string
}

func newPasswords(p *argon2id.Params, concurrency int) *passwords {
	params := DefaultPasswordParams
	if p != nil {
		params = *p
	}
	if concurrency <= 0 {
		concurrency = min(2, runtime.NumCPU())
	}
	return &passwords{params: params, sem: make(chan struct{}, concurrency)}
}

func (p *passwords) dummyHash() string {
	p.dummyOnce.Do(func() { p.dummy, _ = argon2id.CreateHash("kubestats-dummy-password", &p.params) })
	return p.dummy
}

func (p *passwords) acquire(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *passwords) hash(ctx context.Context, password string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-p.sem }()
	h, err := argon2id.CreateHash(password, &p.params)
	if err != nil {
		return "", fmt.Errorf("store: hash password: %w", err)
	}
	return h, nil
}

func (p *passwords) verify(ctx context.Context, password, hash string) (bool, error) {
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-p.sem }()
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("store: verify password: %w", err)
	}
	return ok, nil
}
