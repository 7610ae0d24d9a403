package phonerules

// Status messages a phone shows, in Cisco's words (P46, C12).
const (
	StatusCTLAndITLInstalled = "CTL and ITL installed"
	StatusCTLInstalled       = "CTL Installed"
	StatusITLInstalled       = "ITL installed"
	StatusCTLUpdateFailed    = "CTL update failed"
	StatusTLUpdateFailed     = "Trust List update failed"
	StatusTLUpdated          = "Trust List updated"
	StatusErasing            = "Erasing CTL and ITL files"
	StatusNoTrustList        = "No Trust List installed"
	StatusCTLNotFound        = "File Not Found <CTLFile.tlv>"
)

// Alarm is the Trust List update alarm a phone sends to CUCM (P47, C11).
type Alarm int

const (
	AlarmNone         Alarm = 0
	TLSuccess         Alarm = 1
	CTLInitialSuccess Alarm = 2
	ITLInitialSuccess Alarm = 3
	TLInitialSuccess  Alarm = 4
	TLFailedOldCTL    Alarm = 5
	TLFailedNoTL      Alarm = 6
	TLFailed          Alarm = 7
	TLFailedOldITL    Alarm = 8
	TLFailedOldTL     Alarm = 9
	alarmCount              = 10
)

var alarmNames = [alarmCount]string{"", "TL_SUCCESS", "CTL_INITIAL_SUCCESS", "ITL_INITIAL_SUCCESS",
	"TL_INITIAL_SUCCESS", "TL_FAILED_OLD_CTL", "TL_FAILED_NO_TL", "TL_FAILED", "TL_FAILED_OLD_ITL", "TL_FAILED_OLD_TL"}

func (a Alarm) String() string {
	if a < 0 || a >= alarmCount {
		return "UNKNOWN"
	}
	return alarmNames[a]
}

// Step is what one boot did to one list.
type Step int

const (
	Unchanged Step = iota // nothing downloaded, or the same bytes again
	Imprinted             // first install (P13, P20)
	Updated               // replaced (P14, P18)
	Refused               // kept the old one, or none (P16)
	Absent                // not on the server (P4)
)

// Summarize turns a boot's CTL and ITL steps into the status message and alarm a phone shows
// (P46, P47). had* say whether the phone held each list before the boot. The codes follow C11's
// table; C2's log shows a firmware whose internal codes differ (N1.4), which is not modelled.
func Summarize(ctlStep, itlStep Step, hadCTL, hadITL bool) (string, Alarm) {
	switch {
	case ctlStep == Refused || itlStep == Refused:
		status := StatusTLUpdateFailed
		if itlStep != Refused && ctlStep == Refused && !hadITL {
			status = StatusCTLUpdateFailed
		}
		switch {
		case !hadCTL && !hadITL:
			return status, TLFailedNoTL
		case ctlStep == Refused && itlStep == Refused:
			return status, TLFailedOldTL
		case ctlStep == Refused:
			return status, TLFailedOldCTL
		default:
			return status, TLFailedOldITL
		}
	case ctlStep == Imprinted && itlStep == Imprinted:
		return StatusCTLAndITLInstalled, TLInitialSuccess
	case ctlStep == Imprinted:
		return StatusCTLInstalled, CTLInitialSuccess
	case itlStep == Imprinted && ctlStep != Updated:
		return StatusITLInstalled, ITLInitialSuccess
	case ctlStep == Updated || itlStep == Updated || itlStep == Imprinted:
		return StatusTLUpdated, TLSuccess
	case ctlStep == Absent && !hadCTL && !hadITL:
		return StatusCTLNotFound, AlarmNone
	}
	return "", AlarmNone
}
