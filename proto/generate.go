// Package proto holds trialwatch's service contracts. Regenerate the Go code
// in gen/ with `go generate ./proto` (needs protoc on PATH; the plugins are
// go.mod tools, so their versions are pinned).
package proto

//go:generate sh -c "protoc -I . --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-connect-go=$(go tool -n protoc-gen-connect-go) --go_out=.. --go_opt=module=github.com/trialwatch/trialwatch --connect-go_out=.. --connect-go_opt=module=github.com/trialwatch/trialwatch trialwatch/v1/*.proto"
