package apply

import "fmt"

// HolderOp is the lock operation an apply of process pid with start id start writes.
func HolderOp(pid int, start string) string {
	return fmt.Sprintf("ctlops apply (pid %d, start %s)", pid, start)
}

// StartID is the start id of process pid (holder.go); MachineID the part before its ticks.
var StartID, MachineID = startID, machineID
