package templates

import (
	"strconv"
)

// ChartProps are the numbers of a bar chart: one group of bars a label,
// one bar in each group a series. The same numbers are shown in a table
// below the chart, for those who cannot see it.
type ChartProps struct {
	// ID names the chart for aria; Title describes it.
	ID     string
	Title  string
	Labels []string
	Series []ChartSeries
}

// ChartSeries is one kind of bar: its name, its colour (a chart-N class
// in app.css) and its values, with how to show them.
type ChartSeries struct {
	Name   string
	Class  string
	Values []float64
	Texts  []string
}

// chartBar is one bar, placed in the chart's view box.
type chartBar struct {
	X, Y, W, H string
	Class      string
	Title      string
}

// The chart's view box: bars are drawn in plot units and scaled to fit.
const (
	chartWidth  = 800
	chartHeight = 200
	chartTop    = 10
)

func chartViewBox() string {
	return "0 0 " + strconv.Itoa(chartWidth) + " " + strconv.Itoa(chartHeight+20)
}

func (p ChartProps) max() float64 {
	m := 0.0
	for _, s := range p.Series {
		for _, v := range s.Values {
			m = max(m, v)
		}
	}
	return m
}

// bars places every bar: groups side by side across the width, the
// tallest bar reaching the top.
func (p ChartProps) bars() []chartBar {
	top := p.max()
	if top == 0 || len(p.Labels) == 0 || len(p.Series) == 0 {
		return nil
	}
	group := float64(chartWidth) / float64(len(p.Labels))
	bar := group * 0.8 / float64(len(p.Series))
	var out []chartBar
	for i, label := range p.Labels {
		for j, s := range p.Series {
			if i >= len(s.Values) {
				continue
			}
			h := s.Values[i] / top * (chartHeight - chartTop)
			out = append(out, chartBar{
				X: fmtF(float64(i)*group + group*0.1 + float64(j)*bar), Y: fmtF(chartHeight - h), W: fmtF(bar), H: fmtF(h),
				Class: s.Class, Title: label + ": " + s.Name + " " + s.text(i),
			})
		}
	}
	return out
}

func (s ChartSeries) text(i int) string {
	if i < len(s.Texts) {
		return s.Texts[i]
	}
	if i < len(s.Values) {
		return strconv.FormatFloat(s.Values[i], 'f', -1, 64)
	}
	return ""
}

// axisLabels are a few of the labels, spread along the bottom.
func (p ChartProps) axisLabels() []chartBar {
	n := len(p.Labels)
	if n == 0 {
		return nil
	}
	step := max(1, (n+5)/6)
	group := float64(chartWidth) / float64(n)
	var out []chartBar
	for i := 0; i < n; i += step {
		out = append(out, chartBar{X: fmtF(float64(i)*group + group*0.1), Y: strconv.Itoa(chartHeight + 15), Title: p.Labels[i]})
	}
	return out
}

func (p ChartProps) summary() string {
	names := ""
	for i, s := range p.Series {
		if i > 0 {
			names += ", "
		}
		names += s.Name
	}
	return p.Title + ": " + names + " for " + strconv.Itoa(len(p.Labels)) + " periods; the table below has every number."
}

func fmtF(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
