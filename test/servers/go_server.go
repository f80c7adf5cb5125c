// An OpenAI-style streaming chat server on Go's net/http, for fluxperf's conformance tests
// (test/conformance/realStacks.test.ts): go run go_server.go [-idle SECONDS] [-close]
// It binds 127.0.0.1:0 and prints the port on its first line. -idle sets http.Server.IdleTimeout
// (Go sends no Keep-Alive hint); -close answers every stream with `Connection: close`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	idle := flag.Float64("idle", 5, "idle timeout, seconds")
	closeEach := flag.Bool("close", false, "Connection: close on every answer")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/models", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"go-model","object":"model","owned_by":"conformance"}]}`)
	})
	mux.HandleFunc("/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			MaxTokens int `json:"max_tokens"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.MaxTokens <= 0 {
			body.MaxTokens = 4
		}
		if *closeEach {
			w.Header().Set("connection", "close")
		}
		w.Header().Set("content-type", "text/event-stream")
		flusher := w.(http.Flusher)
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n")
		flusher.Flush()
		for i := 0; i < body.MaxTokens; i++ {
			time.Sleep(2 * time.Millisecond)
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" t%d\"}}]}\n\n", i)
			flusher.Flush()
		}
		fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", body.MaxTokens, 5+body.MaxTokens)
		fmt.Fprint(w, "data: [DONE]\n\n")
	})

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	server := &http.Server{Handler: mux, IdleTimeout: time.Duration(*idle * float64(time.Second))}
	_ = server.Serve(listener)
}
