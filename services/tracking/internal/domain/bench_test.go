package domain

import (
	"fmt"
	"strings"
	"testing"
)

// positionBatch is a 1,000-event POSITION batch as a gateway sends it; withIDs adds eventIDs
// (otherwise Parse derives them with ContentID).
func positionBatch(withIDs bool) []byte {
	var b strings.Builder
	b.WriteString(`{"events":[`)
	for i := 0; i < MaxBatch; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		id := ""
		if withIDs {
			id = fmt.Sprintf(`"eventID":"0b9c6a3e-7f0e-4f7a-9a51-%012d",`, i)
		}
		fmt.Fprintf(&b, `{%s"eventType":"POSITION","eventDateTime":"2026-05-01T10:%02d:%02d+08:00","equipmentReference":"CSQU3054383","latitude":%.6f,"longitude":%.6f,"speedKmh":62.5,"headingDeg":271.5,"accuracyM":8,"positionSource":"GNSS","deviceID":"IMEI-356938035643809","trainNumber":"X8024","modeOfTransport":"RAIL"}`,
			id, i/60, i%60, 36.05+float64(i)/1e4, 120.3-float64(i)/1e4)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkParse1000(b *testing.B) {
	for _, withIDs := range []bool{false, true} {
		body := positionBatch(withIDs)
		b.Run(fmt.Sprintf("eventIDs=%v", withIDs), func(b *testing.B) {
			opt := testOptions()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				items, err := DecodeBatch(body)
				if err != nil {
					b.Fatal(err)
				}
				evs, err := Parse(items, opt)
				if err != nil || len(evs) != MaxBatch {
					b.Fatal(err)
				}
			}
		})
	}
}
