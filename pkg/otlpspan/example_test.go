package otlpspan_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"

	"google.golang.org/protobuf/proto"

	"github.com/scodalabs/scoda/pkg/otlpspan"
)

// A receiver mounts Handler on POST /v1/traces and gets the spans of each export, flattened.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/traces", otlpspan.Handler(4<<20, func(spans []otlpspan.Span) {
		for _, s := range spans {
			fmt.Println(s.Service, s.Kind, s.Name, s.Attr("http.route"), s.Duration())
		}
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body, _ := proto.Marshal(request()) // what an SDK's OTLP/HTTP exporter sends
	resp, err := http.Post(srv.URL+"/v1/traces", otlpspan.ContentType, bytes.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// tracking server POST /v1/events 5ms
	// 200 OK
}
