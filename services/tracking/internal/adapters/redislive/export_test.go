package redislive

// NearWith is Near with the first radius and growth factor of the expanding search given, for
// tests and benchmarks comparing settings.
var NearWith = (*Store).near
