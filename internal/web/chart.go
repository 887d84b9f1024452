package web

import (
	"fmt"
	"strconv"
	"time"
)

// Chart is a bar chart drawn on the server as SVG: no script, no library,
// and the CSP stays strict. Coordinates are in the SVG's own units.
type Chart struct {
	Width, Height int
	Base          int // the time axis's y
	Bars          []Bar
	Ticks         []Tick // hour labels under the bars
	Max           int64  // the tallest bar's value (the scale's top)
	MaxLabel      string
	Total         int64
	Empty         bool   // nothing to draw: the page says so instead
	Summary       string // the chart in words, for screen readers and as its title
}

// Bar is one hour.
type Bar struct {
	X, Y, W, H float64
	Label      string // "14:00–15:00 UTC: 42 tokens"
}

// Tick is a label on the time axis.
type Tick struct {
	X    float64
	Text string
}

// chart geometry: the plot sits above a strip for the hour labels.
const (
	chartW, chartH = 720, 160
	plotTop        = 8
	plotBottom     = chartH - 22
)

// HourlyChart draws counts per hour, oldest first, the last ending at end.
func HourlyChart(counts []int64, end time.Time) *Chart {
	c := &Chart{Width: chartW, Height: chartH, Base: plotBottom}
	for _, n := range counts {
		c.Total += n
		c.Max = max(c.Max, n)
	}
	c.Empty = c.Total == 0
	c.MaxLabel = strconv.FormatInt(c.Max, 10)
	c.Summary = fmt.Sprintf("%s in the last %d hours", Plural(c.Total, "token"), len(counts))
	if len(counts) == 0 {
		return c
	}
	slot := float64(chartW) / float64(len(counts))
	start := end.Add(-time.Duration(len(counts)) * time.Hour).UTC()
	for i, n := range counts {
		h := 0.0
		if c.Max > 0 {
			h = float64(n) / float64(c.Max) * (plotBottom - plotTop)
		}
		if n > 0 && h < 2 {
			h = 2 // a hour with traffic is never invisible
		}
		from := start.Add(time.Duration(i) * time.Hour)
		c.Bars = append(c.Bars, Bar{X: float64(i)*slot + 1, Y: plotBottom - h, W: slot - 2, H: h,
			Label: fmt.Sprintf("%s–%s UTC: %s", from.Format("15:04"), from.Add(time.Hour).Format("15:04"), Plural(n, "token"))})
		if i%6 == 0 {
			c.Ticks = append(c.Ticks, Tick{X: float64(i)*slot + 1, Text: from.Format("15:04")})
		}
	}
	return c
}

// Plural writes a count with its noun, "1 token", "2 tokens".
func Plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}
