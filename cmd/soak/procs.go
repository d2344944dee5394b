package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is one trialwatch process the soak runs on loopback.
type proc struct {
	name       string
	bin        string
	args       []string
	env        []string
	http, adm  string // listen addresses, kept across restarts
	logPath    string
	cmd        *exec.Cmd
	done       chan error // the process's exit, once
	readyAfter time.Duration
}

// freeAddr is a loopback address no one listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func newProc(dir, bin, name string, env []string, args ...string) (*proc, error) {
	h, err := freeAddr()
	if err != nil {
		return nil, err
	}
	a, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return &proc{name: name, bin: bin, args: args, env: env, http: h, adm: a, logPath: filepath.Join(dir, name+".log")}, nil
}

func (p *proc) url() string      { return "http://" + p.http }
func (p *proc) adminURL() string { return "http://" + p.adm }

// start runs the process and waits until it answers /readyz. Its output
// is appended to its log file: a file, so no goroutine copies it.
func (p *proc) start(ctx context.Context) error {
	out, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	p.cmd = exec.Command(p.bin, append(p.args, "--http", p.http, "--admin", p.adm)...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.Env = append(os.Environ(), p.env...)
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	p.done = make(chan error, 1)
	cmd, done := p.cmd, p.done
	go func() { done <- cmd.Wait() }() // ends when the process exits; stop and kill make sure it does
	began := time.Now()
	for {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("%s exited while starting (%v); see %s", p.name, err, p.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(p.url() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.readyAfter = time.Since(began)
				return nil
			}
		}
		if time.Since(began) > time.Minute {
			return fmt.Errorf("%s not ready after a minute; see %s", p.name, p.logPath)
		}
	}
}

// signal sends sig to the running process.
func (p *proc) signal(sig syscall.Signal) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return errors.New(p.name + " is not running")
	}
	return p.cmd.Process.Signal(sig)
}

// kill ends the process at once and reaps it.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGCONT) // a stopped process would not die of SIGTERM
	p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

// stop ends the process gracefully (SIGTERM), killing it after grace.
func (p *proc) stop(grace time.Duration) error {
	if p.cmd == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("%s still running %v after SIGTERM; killed", p.name, grace)
	}
}

// cli runs a trialwatch command to its end and returns its standard
// output, trimmed.
func cli(ctx context.Context, bin string, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("trialwatch %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}
