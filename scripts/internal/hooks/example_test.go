package hooks_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/scodalabs/scoda/scripts/internal/hooks"
)

// The example delivery of the Standard Webhooks specification.
func ExampleVerify() {
	key, err := hooks.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	body := []byte(`{"test": 2432232314}`)
	sent := time.Unix(1614265330, 0)

	fmt.Println(hooks.Verify(key, h, body, sent.Add(time.Minute)))
	fmt.Println(hooks.Verify(key, h, []byte(`{"test": 1}`), sent))
	fmt.Println(hooks.Verify(key, h, body, sent.Add(10*time.Minute)))
	// Output:
	// <nil>
	// no signature matches
	// webhook-timestamp is outside the tolerance
}
