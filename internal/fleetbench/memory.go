package fleetbench

import (
	"runtime"
	"sync"
	"time"
)

// SampleMemory samples this process's heap in use and memory obtained from the OS every
// period until the returned function is called, which returns their peaks in bytes: what the
// fleet benchmarks report as peak-heap-MB and peak-sys-MB.
func SampleMemory(period time.Duration) (stop func() (peakHeap, peakSys uint64)) {
	var heap, sys uint64 // written by the sampler only; read after it has ended
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tk := time.NewTicker(period)
		defer tk.Stop()
		for {
			runtime.ReadMemStats(&ms)
			heap, sys = max(heap, ms.HeapInuse), max(sys, ms.Sys)
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return heap, sys
	}
}
