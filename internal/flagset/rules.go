package flagset

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Positive wants a whole number of 1 or more, a positive finite number
// or a positive duration.
func Positive(v any) string {
	switch v := v.(type) {
	case int:
		if v < 1 {
			return "want a positive whole number"
		}
	case int64:
		if v < 1 {
			return "want a positive whole number"
		}
	case float64:
		if !(v > 0) || math.IsInf(v, 0) {
			return "want a positive, finite number"
		}
	case time.Duration:
		if v <= 0 {
			return "want a positive duration, such as 30s or 5m"
		}
	default:
		panic(fmt.Sprintf("Positive: a %T flag", v))
	}
	return ""
}

// NotNegative wants a duration of 0 or more.
func NotNegative(v any) string {
	if v.(time.Duration) < 0 {
		return "want a duration of 0 or more"
	}
	return ""
}

// Required wants a string that is not blank.
func Required(v any) string {
	if strings.TrimSpace(v.(string)) == "" {
		return "required"
	}
	return ""
}

// HTTPURL wants an absolute http or https URL with a host, or nothing.
func HTTPURL(v any) string {
	s := v.(string)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a URL: " + unwrapURLErr(err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "want an http:// or https:// URL"
	case u.Host == "" || u.Hostname() == "":
		return "the URL names no host"
	case u.Port() != "" && !validPort(u.Port()):
		return "the URL's port is not a number from 0 to 65535"
	}
	return ""
}

func unwrapURLErr(err error) string {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// HostPort wants a listen address: HOST:PORT, HOST possibly empty.
func HostPort(v any) string {
	_, port, err := net.SplitHostPort(v.(string))
	if err != nil {
		return "want HOST:PORT, such as 127.0.0.1:8080 or :8080"
	}
	if !validPort(port) {
		return "the port is not a number from 0 to 65535"
	}
	return ""
}

func validPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n <= 65535
}

// Readable wants a file that can be read, or nothing.
func Readable(v any) string {
	path := v.(string)
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return unwrapPathErr(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return unwrapPathErr(err)
	} else if st.IsDir() {
		return "a directory, not a file"
	}
	return ""
}

// WritableDir wants a directory that exists or can be made, and where
// files can be written, or nothing.
func WritableDir(v any) string {
	dir := v.(string)
	if dir == "" {
		return ""
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return unwrapPathErr(err)
	}
	f, err := os.CreateTemp(dir, ".flagset-check-*")
	if err != nil {
		return "cannot write in it: " + unwrapPathErr(err)
	}
	f.Close()
	os.Remove(f.Name())
	return ""
}
