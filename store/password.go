package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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

// ErrBusy means every hashing slot stayed taken for longer than Options.HashWait, or too
// many callers were already queued for one: the caller should try again in a moment.
var ErrBusy = errors.New("store: the server is busy checking other passwords")

// defaultHashWait bounds how long a password hash or check queues for a slot. A hash takes
// 30–100 ms, so with 2 slots this is dozens of logins ahead; a login waiting longer is
// better told to retry than kept holding its connection and request memory.
const defaultHashWait = 3 * time.Second

// waitersPerSlot bounds the queue: with more callers than this waiting per slot, a new one is
// refused at once, so a burst of logins costs a bounded number of parked requests.
const waitersPerSlot = 4

// passwords hashes and verifies with a bound on concurrent work: each hash allocates
// Params.Memory KiB, so unbounded logins would be a memory exhaustion attack. The queue in
// front of the slots is bounded too, in length and in time.
type passwords struct {
	params argon2id.Params
	sem    chan struct{}
	wait   time.Duration
	// waiting counts callers queued for a slot; past maxWaiting new ones get ErrBusy.
	waiting    atomic.Int64
	maxWaiting int
	// onWork is Options.PasswordHook: called in the slot before each hash or verification.
	onWork func(op string)
	// dummy is verified against for unknown emails, so timing does not reveal which
	// accounts exist. Made on first use: at start-up it would cost Params.Memory of RSS.
	dummyOnce sync.Once
	dummy     string
}

func newPasswords(p *argon2id.Params, concurrency int, wait time.Duration, onWork func(op string)) *passwords {
	params := DefaultPasswordParams
	if p != nil {
		params = *p
	}
	if concurrency <= 0 {
		concurrency = min(2, runtime.NumCPU())
	}
	if wait <= 0 {
		wait = defaultHashWait
	}
	if onWork == nil {
		onWork = func(string) {}
	}
	return &passwords{params: params, sem: make(chan struct{}, concurrency), wait: wait,
		maxWaiting: waitersPerSlot * concurrency, onWork: onWork}
}

// dummyHash is called inside a slot, so making it is bounded like any other hash.
func (p *passwords) dummyHash() string {
	p.dummyOnce.Do(func() { p.dummy, _ = argon2id.CreateHash("kubestats-dummy-password", &p.params) })
	return p.dummy
}

// acquire takes a hashing slot, waiting at most p.wait behind at most p.maxWaiting others.
func (p *passwords) acquire(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	if p.waiting.Add(1) > int64(p.maxWaiting) {
		p.waiting.Add(-1)
		return ErrBusy
	}
	defer p.waiting.Add(-1)
	timer := time.NewTimer(p.wait)
	defer timer.Stop()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-timer.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *passwords) hash(ctx context.Context, password string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-p.sem }()
	p.onWork("hash")
	h, err := argon2id.CreateHash(password, &p.params)
	if err != nil {
		return "", fmt.Errorf("store: hash password: %w", err)
	}
	return h, nil
}

// verify checks password against hash, or against the dummy hash when hash is "" (no such
// user). It does the same work whatever the input: a password over MaxPasswordLen is
// verified by its first MaxPasswordLen bytes and then refused, so neither its length nor
// the account's existence shows in the time taken, and the hasher's input stays bounded.
func (p *passwords) verify(ctx context.Context, password, hash string) (bool, error) {
	tooLong := len(password) > MaxPasswordLen
	if tooLong {
		password = password[:MaxPasswordLen]
	}
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-p.sem }()
	dummy := hash == ""
	if dummy {
		hash = p.dummyHash()
	}
	p.onWork("verify")
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("store: verify password: %w", err)
	}
	return ok && !tooLong && !dummy, nil
}
