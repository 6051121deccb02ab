module github.com/scodalabs/scoda/scripts

go 1.26.8

require (
	github.com/scodalabs/scoda/pkg v0.0.0-00010101000000-000000000000
	github.com/scodalabs/scoda/services/notification v0.0.0-00010101000000-000000000000
	github.com/scodalabs/scoda/services/scheduling v0.0.0-00010101000000-000000000000
	github.com/scodalabs/scoda/services/tracking v0.0.0-00010101000000-000000000000
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/exaring/otelpgx v0.13.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/golang-migrate/migrate/v4 v4.20.1 // indirect
	github.com/jackc/pgerrcode v0.0.0-20220416144525-469b46aa5efa // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.12.0 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/scodalabs/scoda/pkg => ../pkg
	github.com/scodalabs/scoda/services/notification => ../services/notification
	github.com/scodalabs/scoda/services/scheduling => ../services/scheduling
	github.com/scodalabs/scoda/services/tracking => ../services/tracking
)
