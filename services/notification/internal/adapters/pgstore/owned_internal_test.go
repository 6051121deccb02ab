package pgstore

import "testing"

// Owners read before a change was announced are not kept: the read may have missed it.
func TestOwnedSetKeepsNoOwnersReadBeforeAChange(t *testing.T) {
	o := NewOwnedSet()
	o.add("MSCU1234565")
	o.synced.Store(true)
	read := map[string][]ContainerOwner{"MSCU1234565": {{Tenant: "acme"}}}

	_, missing, gen, ok := o.lookup([]string{"MSCU1234565", "TGHU0000001"})
	if !ok || len(missing) != 1 || missing[0] != "MSCU1234565" {
		t.Fatalf("lookup: missing %v, in sync %v", missing, ok)
	}
	o.Changed("MSCU1234565") // announced while the owners were being read
	o.remember(gen, missing, read)
	if _, missing, _, _ := o.lookup(missing); len(missing) != 1 {
		t.Fatal("owners read before a change were kept")
	}

	_, missing, gen, _ = o.lookup(missing)
	o.remember(gen, missing, read)
	known, missing, _, _ := o.lookup(missing)
	if len(missing) != 0 || len(known["MSCU1234565"]) != 1 {
		t.Fatalf("owners read with no change since: known %v, missing %v", known, missing)
	}

	o.synced.Store(false)
	if _, _, _, ok := o.lookup(missing); ok {
		t.Fatal("lookup answered out of sync")
	}
}
