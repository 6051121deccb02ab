package webhook_test

import (
	"fmt"
	"time"

	"github.com/scodalabs/scoda/services/notification/internal/webhook"
)

func ExampleSign() {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	body := []byte(`{"test": 2432232314}`)
	h, err := webhook.Sign([]webhook.Secret{secret}, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), body)
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Get("webhook-id"))
	fmt.Println(h.Get("webhook-timestamp"))
	fmt.Println(h.Get("webhook-signature"))
	// Output:
	// msg_p5jXN8AQM9LWM0D4loKWxJek
	// 1614265330
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

func ExampleVerify() {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	sentAt := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	h, err := webhook.Sign([]webhook.Secret{secret}, "msg_p5jXN8AQM9LWM0D4loKWxJek", sentAt, body)
	if err != nil {
		panic(err)
	}

	fmt.Println(webhook.Verify(secret, h, body, sentAt.Add(time.Minute)))
	fmt.Println(webhook.Verify(secret, h, []byte(`{"test": 1}`), sentAt))
	fmt.Println(webhook.Verify(secret, h, body, sentAt.Add(10*time.Minute)) != nil)
	// Output:
	// <nil>
	// webhook: no matching signature
	// true
}

func ExampleSignDCSA() {
	h, err := webhook.SignDCSA([]byte("scoda-dcsa-test-secret-32-bytes!"), "7f2d1c3e-9b4a-4e8f-a6d2-5c1b0e9f8a7d", []byte(`[]`))
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Get("Subscription-ID"))
	fmt.Println(webhook.VerifyDCSA([]byte("scoda-dcsa-test-secret-32-bytes!"), h, []byte(`[]`)))
	// Output:
	// 7f2d1c3e-9b4a-4e8f-a6d2-5c1b0e9f8a7d
	// <nil>
}
