package benchkit

import (
	"os"
	"strings"
)

// CPU names the processor (the first "model name" of /proc/cpuinfo) and
// Kernel the Linux release, for the line that says where numbers came from.
func CPU() string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
			}
		}
	}
	return "unknown CPU"
}

// Kernel is the Linux release this runs on.
func Kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
