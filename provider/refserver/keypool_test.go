package refserver

import (
	"crypto/rsa"
	"testing"
)

// KeyPool hands out n distinct keys in a row, then the same ones again in turn; the source
// set with SetKeySource is what issue uses, and nil restores fresh keys (the control).
func TestKeyPool(t *testing.T) {
	pool := KeyPool(3)
	var got []string
	for i := 0; i < 6; i++ {
		k, err := pool(1024)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k.N.String())
	}
	if got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
		t.Fatal("the first three keys are not distinct")
	}
	if got[3] != got[0] || got[4] != got[1] || got[5] != got[2] {
		t.Fatal("the pool does not hand its keys out again in turn")
	}
	calls := 0
	SetKeySource(func(bits int) (*rsa.PrivateKey, error) { calls++; return pool(bits) })
	defer SetKeySource(nil)
	if _, err := newKey(1024); err != nil || calls != 1 {
		t.Fatalf("newKey did not use the source: %d calls, %v", calls, err)
	}
	SetKeySource(nil)
	if k, err := newKey(1024); err != nil || calls != 1 || k.N.String() == got[0] || k.N.String() == got[1] || k.N.String() == got[2] {
		t.Fatalf("after SetKeySource(nil): %d calls, %v", calls, err)
	}
}
