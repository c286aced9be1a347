// Command generator renders Datadog's own status templates into the fixture corpus under
// tests/statusfixtures/. It is test tooling run by hand, never by the test suite: CI cannot reach
// the upstream repository, and the templates themselves are never committed.
//
// Fill a directory with the upstream templates, one tree per commit:
//
//	<templates>/<commit>/<path in DataDog/datadog-agent>
//
// (the commits and paths are listed in `layouts` below), then run, from the repository root:
//
//	go run ./tests/statusfixtures/generator -templates /tmp/dd-templates -out tests/statusfixtures
//
// It writes <out>/<kind>/<layout>/<state>.txt and <out>/index.json. Standard library only.
//
// The data each state feeds the templates follows the Go code that fills them upstream (the
// functions named in `source` fields): the leader election status provider, the collector's runner
// and loader stats, the custom metrics status, and the node Agent's GetDCAStatus. The template helper
// functions (humanize, printDashes, ...) are small re-implementations of the upstream ones of each era.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	htmltemplate "html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

const upstream = "DataDog/datadog-agent"

// tmplRef names one upstream template file at one commit.
type tmplRef struct {
	Path   string `json:"path"`
	Commit string `json:"commit"`
}

// layout is one way a release printed its status: which templates, which engine, how sections are framed.
type layout struct {
	Name      string    // fixture directory name
	Kind      string    // dca | agent
	Releases  string    // the releases that printed it (approximate where the template history is coarse)
	HTML      bool      // html/template (DCA 1.0-1.5 and Agent 6.x era) instead of text/template
	Humanize  string    // si (values above 1M as "1.2 M", go-humanize SIWithDigits) | commas
	Templates []tmplRef // in render order
	Framing   string    // concat: templates print their own banners | component: comp/core/status frames sections
	Source    string    // the Go code whose data shape the states follow
}

var layouts = []layout{
	{Name: "dca-1.x-html", Kind: "dca", Releases: "Cluster Agent 1.x (2018-2020), html/template",
		HTML: true, Humanize: "si", Framing: "concat",
		Templates: []tmplRef{
			{"pkg/status/dist/templates/header.tmpl", "b1b69a069f368a241b1aa833e6228706066b3f61"},
			{"pkg/status/dist/templates/collector.tmpl", "8e1b3b87bc472ea6003feb3feca98fdd41e12044"},
		},
		Source: "pkg/status/render.go FormatDCAStatus (header, then renderChecksStats); pkg/status/status_apiserver.go getLeaderElectionDetails"},
	{Name: "dca-7.4x-text", Kind: "dca", Releases: "Cluster Agent 7.4x up to the status component (about 7.50)",
		Humanize: "commas", Framing: "concat",
		Templates: []tmplRef{
			{"pkg/status/templates/header.tmpl", "009afeb01c3bb813444f2cb90033386ac60a8670"},
			{"pkg/status/templates/collector.tmpl", "3faa4e7741ce9fa2c7df06d58c124c1d9a0819d0"},
		},
		Source: "pkg/status/render.go FormatDCAStatus; pkg/status/status_apiserver.go getLeaderElectionDetails"},
	{Name: "dca-7.5x-component", Kind: "dca", Releases: "Cluster Agent with comp/core/status (about 7.51 to the newest)",
		Humanize: "commas", Framing: "component",
		Templates: []tmplRef{
			{"pkg/status/collector/status_templates/collector.tmpl", "04d81195435ca609a617054a55f9dfe907db1c18"},
			{"pkg/clusteragent/metricsstatus/status_templates/custommetrics.tmpl", "08f7187776149b93953a99d3b2747e6d179af031"},
			{"comp/forwarder/defaultforwarder/status_templates/forwarder.tmpl", "822f02573b62711a32ed5ec65c1eadc13a2dd960"},
			{"pkg/util/kubernetes/apiserver/leaderelection/status_templates/leaderelection.tmpl", "15d4c1b16cc5e5d589b617bd586e7ad14288523d"},
		},
		Source: "comp/core/status/statusimpl GetStatus (printHeader, Collector first, then sections by name; the header provider is left out); leaderelection/status.go"},
	{Name: "agent-6.x-html", Kind: "agent", Releases: "Agent 6.x (2018-2019), html/template",
		HTML: true, Humanize: "si", Framing: "concat",
		Templates: []tmplRef{{"pkg/status/dist/templates/clusteragent.tmpl", "eb845f59c9f0e79ca0eacd5bae4200feff4f9ec7"}},
		Source:    "pkg/status/status_apiserver.go getDCAStatus (Error | Endpoint)"},
	{Name: "agent-7.2x-text", Kind: "agent", Releases: "Agent 7.2x-7.4x (pkg/status/render)",
		Humanize: "commas", Framing: "concat",
		Templates: []tmplRef{{"pkg/status/render/templates/clusteragent.tmpl", "0def311dfa7503a5174ffa2c8faef02901590c83"}},
		Source:    "pkg/status/status_apiserver.go getDCAStatus (DetectionError | Endpoint, ConnectionError, Version)"},
	{Name: "agent-7.5x-component", Kind: "agent", Releases: "Agent with comp/core/status (about 7.51 to the newest)",
		Humanize: "commas", Framing: "component",
		Templates: []tmplRef{{"pkg/status/clusteragent/status_templates/clusteragent.tmpl", "928a22570e69dc3fd033ebbae962dbd0d869f2eb"}},
		Source:    "pkg/status/clusteragent/status_apiserver.go GetDCAStatus (clusterAgentStatus set before the client is asked)"},
	{Name: "agent-7.5x-component-silent", Kind: "agent", Releases: "Agent builds whose GetDCAStatus sets clusterAgentStatus only on success",
		Humanize: "commas", Framing: "component",
		Templates: []tmplRef{{"pkg/status/clusteragent/status_templates/clusteragent.tmpl", "928a22570e69dc3fd033ebbae962dbd0d869f2eb"}},
		Source:    "pkg/status/clusteragent/status_apiserver.go GetDCAStatus variant: stats[\"clusterAgentStatus\"] assigned after the version call, so any error leaves the section empty"},
}

// --- the fixture clock and names (tests/scenarios/README.md: FIXTURE_NOW = 2026-11-27T12:00:00Z) ---

var (
	now       = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	leaderPod = "datadog-cluster-agent-8568545574-x9tc9"
	otherPod  = "datadog-cluster-agent-8568545574-q2m7d"
	endpoint  = "https://10.96.10.10:5005"
)

// retryErr is the text of pkg/util/retry Error for a FailWillRetry status on the DCA client's retrier.
func retryErr(cause string) string {
	return "temporary failure in clusterAgentClient, will retry later: " + cause
}

// remoteErr is pkg/errors NewRemoteServiceError(url, status).
func remoteErr(url, status string) string { return fmt.Sprintf("%q is unavailable: %s", url, status) }

// --- DCA states ----------------------------------------------------------------------------------

func forbiddenLock(ns string) string {
	return `configmaps "datadog-leader-election" is forbidden: User "system:serviceaccount:` + ns +
		`:datadog-cluster-agent" cannot update resource "configmaps" in API group "" in the namespace "` + ns + `"`
}

func forbiddenEvents(ns string) string {
	return `events is forbidden: User "system:serviceaccount:` + ns +
		`:datadog-cluster-agent" cannot list resource "events" in API group "" at the cluster scope`
}

// Go core checks' Configure errors reach the loader as "Could not configure check <name>: <err>".
const configureErr = `Could not configure check kubernetes_apiserver: yaml: line 3: did not find expected key`

// dcaSpec is what one DCA status shows; the zero values give the corpus defaults.
type dcaSpec struct {
	Version     string
	Namespace   string
	Election    string // leader | follower | error
	Holder      string // leaderName
	Acquired    time.Time
	Renewed     time.Time
	Transitions int
	Check       string // running | failing | not-loaded
	BigCounts   bool   // counters above a million
	ConfigMap   string // custom metrics store, <ns>/<name>
	MetricTS    time.Time
	APIKey      string // "": no Forwarder section (the fixtures made before it) | valid | invalid
}

func (s dcaSpec) withDefaults() dcaSpec {
	if s.Namespace == "" {
		s.Namespace = "datadog"
	}
	if s.Holder == "" {
		s.Holder = leaderPod
		if s.Election == "follower" {
			s.Holder = otherPod
		}
	}
	if s.Acquired.IsZero() {
		s.Acquired = now.Add(-4*time.Hour - 20*time.Minute)
	}
	if s.Renewed.IsZero() {
		s.Renewed = now.Add(-4 * time.Second)
	}
	if s.Transitions == 0 {
		s.Transitions = 2
	}
	if s.ConfigMap == "" {
		s.ConfigMap = s.Namespace + "/datadog-custom-metrics"
	}
	if s.MetricTS.IsZero() {
		s.MetricTS = now.Add(-30 * time.Second)
	}
	return s
}

type dcaState struct {
	Name, Note string
	Spec       dcaSpec
}

var dcaStates = []dcaState{
	{"leader", "this replica leads; kubernetes_apiserver runs", dcaSpec{Election: "leader", Check: "running"}},
	{"follower", "another replica leads; kubernetes_apiserver is scheduled (and skips its work)", dcaSpec{Election: "follower", Check: "running"}},
	{"election-error", "GetLeaderElectionRecord failed: RBAC forbids the lock", dcaSpec{Election: "error", Check: "running"}},
	{"check-failing", "kubernetes_apiserver runs and its last run failed", dcaSpec{Election: "leader", Check: "failing"}},
	{"check-not-loaded", "kubernetes_apiserver failed to configure: it appears only under Loading Errors", dcaSpec{Election: "leader", Check: "not-loaded"}},
	{"big-counts", "counters above a million", dcaSpec{Election: "leader", Check: "running", BigCounts: true}},
}

func checkInstance(s dcaSpec) map[string]interface{} {
	inst := map[string]interface{}{
		"CheckName": "kubernetes_apiserver", "CheckID": "kubernetes_apiserver", "CheckVersion": "",
		"CheckConfigSource": "file:/etc/datadog-agent/conf.d/kubernetes_apiserver.d/conf.yaml.default",
		"TotalRuns":         736.0, "MetricSamples": 0.0, "TotalMetricSamples": 0.0, "Events": 0.0, "TotalEvents": 100.0,
		"ServiceChecks": 3.0, "TotalServiceChecks": 2193.0, "HistogramBuckets": 0.0, "TotalHistogramBuckets": 0.0,
		"AverageExecutionTime": 46.0, "FirstExecutionTime": 120.0,
		"UpdateTimestamp": float64(now.Add(-15 * time.Second).Unix()),
		"LastSuccessDate": float64(now.Add(-15 * time.Second).Unix()),
		"LastError":       "", "LastWarnings": []interface{}{},
		"TotalEventPlatformEvents": map[string]interface{}{}, "EventPlatformEvents": map[string]interface{}{},
		"LongRunning": false,
	}
	if s.BigCounts {
		inst["TotalRuns"] = 1234567.0
		inst["TotalServiceChecks"] = 3703701.0
		inst["TotalEvents"] = 1234567.0
	}
	if s.Check == "failing" {
		// Go checks report the error text itself (Python checks a JSON list of message/traceback).
		inst["LastError"] = forbiddenEvents(s.Namespace)
		inst["LastSuccessDate"] = float64(now.Add(-28 * time.Minute).Unix())
	}
	return inst
}

func dcaData(s dcaSpec) map[string]interface{} {
	s = s.withDefaults()
	runner := map[string]interface{}{"Workers": 4.0, "Runs": 0.0, "Checks": map[string]interface{}{}}
	loader := map[string]interface{}{}
	if s.Check == "not-loaded" {
		loader["kubernetes_apiserver"] = map[string]interface{}{"Core Check Loader": configureErr}
	} else {
		runner["Runs"] = 736.0
		runner["Checks"] = map[string]interface{}{"kubernetes_apiserver": map[string]interface{}{
			"kubernetes_apiserver": checkInstance(s)}}
	}
	sched := map[string]interface{}{"LoaderErrors": loader}
	metric := map[string]interface{}{
		"metricName": "nginx.net.request_per_s", "labels": map[string]interface{}{"kube_container_name": "nginx"},
		"ts": float64(s.MetricTS.Unix()), "value": 2472.0, "valid": true,
		"reference": map[string]interface{}{"type": "horizontal", "namespace": "default", "name": "nginxext", "uid": "d6a8f6a4"},
	}
	custom := map[string]interface{}{
		"Cmname":   s.ConfigMap,
		"External": map[string]interface{}{"Total": 1.0, "Valid": 1.0, "Metrics": []interface{}{metric}},
	}
	d := map[string]interface{}{
		"title":       fmt.Sprintf("Datadog Cluster Agent (v%s)", s.Version),
		"version":     s.Version,
		"time":        now.Add(-2 * time.Second).Format("2006-01-02 15:04:05.000000 MST"),
		"agent_start": now.Add(-4*time.Hour - 21*time.Minute).Format("2006-01-02 15:04:05.000000 MST"),
		"pid":         1.0, "go_version": "go1.22.8", "build_arch": "amd64",
		"config":         map[string]interface{}{"log_level": "INFO", "confd_path": "/etc/datadog-agent/conf.d"},
		"conf_file":      "/etc/datadog-agent/datadog-cluster.yaml",
		"metadata":       map[string]interface{}{"meta": map[string]interface{}{"hostname": "gke-test-default-pool-068cb9c0-wntj"}},
		"hostTags":       []interface{}{},
		"hostnameStats":  map[string]interface{}{"provider": "node", "errors": map[string]interface{}{}},
		"agent_metadata": map[string]interface{}{},
		"custommetrics":  custom,
		"runnerStats":    runner, "checkSchedulerStats": sched, "autoConfigStats": map[string]interface{}{},
		// The pre-component renderChecksStats passed these keys, capitalised, to collector.tmpl.
		"RunnerStats": runner, "CheckSchedulerStats": sched, "AutoConfigStats": map[string]interface{}{},
	}
	if s.APIKey != "" {
		d["forwarderStats"] = forwarderStats(s.APIKey)
	}
	switch s.Election {
	case "leader", "follower":
		d["leaderelection"] = map[string]interface{}{
			"status": "Running", "leaderName": s.Holder,
			"acquiredTime": s.Acquired.Format(time.RFC1123), "renewedTime": s.Renewed.Format(time.RFC1123),
			"transitions": fmt.Sprintf("%d transitions", s.Transitions),
		}
	case "error":
		d["leaderelection"] = map[string]interface{}{"status": "Failing", "error": forbiddenLock(s.Namespace)}
	}
	return d
}

// apiKeyEnding is the fixture key's last five characters: what forwarder_health.go setAPIKeyStatus
// keeps of a key ("API key ending with <last 5>").
const apiKeyEnding = "4f2a1"

// forwarderStats is the forwarder's expvar map as forwarder_health.go fills it: a valid key under
// APIKeyStatus, an invalid one (HTTP 403 from /api/v1/validate) under APIKeyFailure only.
func forwarderStats(apiKey string) map[string]interface{} {
	key := "API key ending with " + apiKeyEnding
	keyStatus, keyFailure := map[string]interface{}{}, map[string]interface{}{}
	if apiKey == "invalid" {
		keyFailure[key] = "API Key invalid"
	} else {
		keyStatus[key] = "API Key valid"
	}
	return map[string]interface{}{
		"Transactions": map[string]interface{}{
			"Success": 1204.0, "SuccessByEndpoint": map[string]interface{}{"series_v2": 736.0, "check_run_v1": 468.0},
			"Errors": 0.0, "Dropped": 0.0, "DroppedOnInput": 0.0, "Requeued": 0.0, "Retried": 0.0,
			"RetryQueueSize": 0.0, "HighPriorityQueueFull": 0.0,
		},
		"APIKeyStatus": keyStatus, "APIKeyFailure": keyFailure,
	}
}

// --- Agent states --------------------------------------------------------------------------------

// agentSpec is what one node Agent's "Datadog Cluster Agent" section shows.
type agentSpec struct {
	State       string // connected | first-403 | first-refused | token-short | no-env | retry-delay | after-init-403
	Endpoint    string
	Version     string
	ServiceName string
	TokenLength int
	OldToken    bool   // the token error text of the releases before it was reworded
	Dial        string // the address the dialer reports (the resolved IP and port); default: the Endpoint's host:port
}

func (s agentSpec) withDefaults() agentSpec {
	if s.Endpoint == "" {
		s.Endpoint = endpoint
	}
	if s.Version == "" {
		s.Version = "7.62.2+commit.9a3f1c2"
	}
	if s.ServiceName == "" {
		s.ServiceName = "datadog-cluster-agent"
	}
	if s.TokenLength == 0 {
		s.TokenLength = 10
	}
	return s
}

func (s agentSpec) dial() string {
	if s.Dial != "" {
		return s.Dial
	}
	return strings.TrimPrefix(s.Endpoint, "https://")
}

func tokenErr(s agentSpec) string {
	if s.OldToken {
		return fmt.Sprintf("cluster agent authentication token length must be greater than 32, curently: %d", s.TokenLength)
	}
	return fmt.Sprintf("cluster agent authentication token must be at least 32 characters long, currently: %d", s.TokenLength)
}

// details is what GetDCAStatus fills: DetectionError when GetClusterAgentClient fails (its retrier
// wraps the init error, and hides it between attempts), else the Endpoint and either the
// ConnectionError of GetVersion or the Version.
func (s agentSpec) details() map[string]interface{} {
	s = s.withDefaults()
	version := s.Endpoint + "/version"
	link := strings.ToUpper(strings.ReplaceAll(s.ServiceName, "-", "_"))
	detection := map[string]string{
		"first-403": retryErr(remoteErr(version, "403 Forbidden")),
		"first-refused": retryErr(remoteErr(version, fmt.Sprintf("Get %q: dial tcp %s: connect: connection refused",
			version, s.dial()))),
		"token-short": retryErr(tokenErr(s)),
		"no-env": retryErr(fmt.Sprintf("cannot get a cluster agent endpoint for kubernetes service %s, env %s_SERVICE_HOST is empty",
			s.ServiceName, link)),
		"retry-delay": retryErr("try delay not elapsed yet"),
	}[s.State]
	if detection != "" {
		return map[string]interface{}{"DetectionError": detection}
	}
	d := map[string]interface{}{"Endpoint": s.Endpoint}
	if s.State == "after-init-403" {
		d["ConnectionError"] = remoteErr(version, "403 Forbidden")
	} else {
		d["Version"] = s.Version
	}
	return d
}

type agentState struct {
	Name, Note string
	Spec       agentSpec
}

var agentStates = []agentState{
	{"connected", "the client initialised and /version answered", agentSpec{State: "connected"}},
	{"refused-first-contact-403", "the first /version call got 403: the tokens differ", agentSpec{State: "first-403"}},
	{"refused-first-contact-connection-refused", "the first /version call could not connect", agentSpec{State: "first-refused"}},
	{"token-too-short", "security.GetClusterAgentAuthToken refused a 10-character token", agentSpec{State: "token-short"}},
	{"no-service-env", "the service-link env vars of the DCA Service are missing", agentSpec{State: "no-env"}},
	{"retry-delay", "between two attempts the retrier hides the cause", agentSpec{State: "retry-delay"}},
	{"refused-after-init", "the client initialised earlier; now /version answers 403", agentSpec{State: "after-init-403"}},
}

func agentData(l layout, s agentSpec) map[string]interface{} {
	d := s.details()
	_, failed := d["Version"]
	failed = !failed
	switch l.Name {
	case "agent-6.x-html":
		// 6.x getDCAStatus: one Error for any failure, else the endpoint.
		if e, ok := d["DetectionError"]; ok {
			return map[string]interface{}{"Error": e}
		}
		if e, ok := d["ConnectionError"]; ok {
			return map[string]interface{}{"Error": e}
		}
		return map[string]interface{}{"Endpoint": d["Endpoint"]}
	case "agent-7.2x-text":
		return d
	case "agent-7.5x-component-silent":
		if failed {
			return map[string]interface{}{}
		}
	}
	return map[string]interface{}{"clusterAgentStatus": d}
}

func agentStatesFor(l layout) []agentState {
	out := []agentState{}
	for _, st := range agentStates {
		st.Spec.OldToken = l.Name == "agent-6.x-html" || l.Name == "agent-7.2x-text"
		out = append(out, st)
	}
	return out
}

// --- template helpers (re-implemented per era) ---------------------------------------------------

func num(v interface{}) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// commaf is go-humanize Commaf: thousands separated by commas, no trailing zeros.
func commaf(f float64) string {
	neg := f < 0
	f = math.Abs(f)
	whole := int64(f)
	frac := strconv.FormatFloat(f-float64(whole), 'f', -1, 64)
	s := strconv.FormatInt(whole, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if frac != "0" {
		out += strings.TrimPrefix(frac, "0")
	}
	if neg {
		out = "-" + out
	}
	return out
}

// siWithDigits is go-humanize SIWithDigits(f, 1, ""): "1.2 M".
func siWithDigits(f float64) string {
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for math.Abs(f) >= 1000 && i < len(prefixes)-1 {
		f /= 1000
		i++
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(strings.TrimRight(strings.TrimRight(s, "0"), "."), ".")
	return s + " " + prefixes[i]
}

func helpers(l layout) map[string]interface{} {
	humanize := func(v interface{}) string { return commaf(num(v)) }
	if l.Humanize == "si" {
		// the 1.x-era mkHuman: SIWithDigits above a million, Commaf below
		humanize = func(v interface{}) string {
			f := num(v)
			if f > 1000000.0 {
				return siWithDigits(f)
			}
			return commaf(f)
		}
	}
	var pass func(string) interface{}
	if l.HTML {
		pass = func(s string) interface{} { return htmltemplate.HTML(s) }
	} else {
		pass = func(s string) interface{} { return s }
	}
	return map[string]interface{}{
		"printDashes": func(s, dash string) string { return strings.Repeat(dash, len([]rune(s))) },
		"doNotEscape": pass,
		"humanize":    humanize,
		"humanizeDuration": func(v interface{}, unit string) string {
			d, _ := time.ParseDuration(fmt.Sprintf("%f%s", num(v), unit))
			return d.String()
		},
		"formatUnixTime": func(v interface{}) string {
			t := time.Unix(int64(num(v)), 0).UTC()
			return t.Format("2006-01-02 15:04:05.000 MST") + fmt.Sprintf(" (%d)", t.UnixNano()/int64(time.Millisecond))
		},
		"status": func(inst map[string]interface{}) string {
			if s, _ := inst["LastError"].(string); s != "" {
				return "[ERROR]"
			}
			if w, _ := inst["LastWarnings"].([]interface{}); len(w) > 0 {
				return "[WARNING]"
			}
			return "[OK]"
		},
		"version": func(instances map[string]interface{}) string {
			for _, inst := range instances {
				if m, ok := inst.(map[string]interface{}); ok {
					v, _ := m["CheckVersion"].(string)
					return v
				}
			}
			return ""
		},
		// Go checks' LastError is plain text, not the JSON list Python checks report.
		"lastErrorMessage": func(v string) interface{} {
			var list []map[string]string
			if json.Unmarshal([]byte(v), &list) == nil && len(list) > 0 {
				return pass(list[0]["message"])
			}
			return pass(v)
		},
		"lastErrorTraceback": func(v string) interface{} {
			var list []map[string]string
			if json.Unmarshal([]byte(v), &list) != nil || len(list) == 0 {
				return pass("No traceback")
			}
			return pass(list[0]["traceback"])
		},
		"configError": func(v string) interface{} { return pass(v) },
		"ntpWarning":  func(v interface{}) bool { return math.Abs(num(v)) >= 60 },
		"yellowText":  func(v interface{}) string { return fmt.Sprint(v) },
		"redText":     func(v interface{}) string { return fmt.Sprint(v) },
		"greenText":   func(v interface{}) string { return fmt.Sprint(v) },
		"percent":     func(v interface{}) string { return fmt.Sprintf("%.2f", num(v)*100) },
		"formatTitle": func(s string) string { return s },
		"toUnsortedList": func(m map[string]interface{}) string {
			keys := []string{}
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return fmt.Sprintf("%s", keys)
		},
	}
}

func render(l layout, dir string, ref tmplRef, w io.Writer, data interface{}) error {
	raw, err := os.ReadFile(filepath.Join(dir, ref.Commit, ref.Path))
	if err != nil {
		return fmt.Errorf("%w (fetch %s at %s from %s)", err, ref.Path, ref.Commit, upstream)
	}
	name := filepath.Base(ref.Path)
	if l.HTML {
		t, err := htmltemplate.New(name).Funcs(htmltemplate.FuncMap(helpers(l))).Parse(string(raw))
		if err != nil {
			return err
		}
		return t.Execute(w, data)
	}
	t, err := texttemplate.New(name).Funcs(texttemplate.FuncMap(helpers(l))).Parse(string(raw))
	if err != nil {
		return err
	}
	return t.Execute(w, data)
}

// section frames one provider's text as comp/core/status statusimpl GetStatus does: a `=` line as
// long as the title, the title, a `=` line, newline, the provider's text, newline; a provider that
// writes nothing at all gets no section.
func section(b *bytes.Buffer, title string, text []byte) {
	if len(text) == 0 {
		return
	}
	dashes := strings.Repeat("=", len([]rune(title)))
	b.WriteString(dashes + "\n" + title + "\n" + dashes + "\n")
	b.Write(text)
	b.WriteString("\n")
}

var componentTitles = map[string]string{
	"collector.tmpl": "Collector", "custommetrics.tmpl": "Custom Metrics Server",
	"leaderelection.tmpl": "Leader Election", "clusteragent.tmpl": "Datadog Cluster Agent",
	"forwarder.tmpl": "Forwarder",
}

func renderLayout(l layout, dir string, data map[string]interface{}) ([]byte, error) {
	var b bytes.Buffer
	for _, ref := range l.Templates {
		if l.Framing == "concat" {
			if err := render(l, dir, ref, &b, data); err != nil {
				return nil, err
			}
			continue
		}
		if filepath.Base(ref.Path) == "leaderelection.tmpl" && data["leaderelection"] == nil {
			continue
		}
		// Only the fixtures that show the forwarder carry its section (the others were made before it).
		if filepath.Base(ref.Path) == "forwarder.tmpl" && data["forwarderStats"] == nil {
			continue
		}
		var text bytes.Buffer
		if err := render(l, dir, ref, &text, data); err != nil {
			return nil, err
		}
		section(&b, componentTitles[filepath.Base(ref.Path)], text.Bytes())
	}
	return b.Bytes(), nil
}

// corpusVersion is the release each DCA layout's fixtures claim in their title.
var corpusVersion = map[string]string{"dca-1.x-html": "1.4.0", "dca-7.4x-text": "7.50.3", "dca-7.5x-component": "7.62.2"}

// --- the scenarios' exec fixtures ------------------------------------------------------------------

// scenarioTarget is one exec fixture under tests/scenarios rendered from a layout. A DCA status is
// written whole; an Agent status keeps its other sections and gets its "Datadog Cluster Agent"
// section replaced (the parsers read only that section of `agent status`).
type scenarioTarget struct {
	File   string // under the scenarios directory
	Layout string
	DCA    *dcaSpec
	Agent  *agentSpec
	Note   string
}

func at(h, m, s int) time.Time { return time.Date(2026, 11, 27, h, m, s, 0, time.UTC) }

func agents(scenario, ns string, pods []string, layoutName string, spec agentSpec, note string) []scenarioTarget {
	out := []scenarioTarget{}
	for _, p := range pods {
		s := spec
		out = append(out, scenarioTarget{filepath.Join(scenario, "pods", ns, p, "exec", "agent_status.out"), layoutName, nil, &s, note})
	}
	return out
}

func scenarioTargets() []scenarioTarget {
	helmLeader := dcaSpec{Version: "7.62.2", Election: "leader", Check: "running", Acquired: at(7, 39, 5),
		Renewed: at(11, 59, 56), MetricTS: at(11, 59, 30)}
	smoke := dcaSpec{Version: "7.60.1", Election: "leader", Check: "running", Holder: "datadog-cluster-agent-6c9f8b7d4-x9tc9",
		Acquired: at(9, 0, 0), Renewed: at(11, 59, 50), MetricTS: at(11, 59, 45)}
	smokeFollower := smoke
	smokeFollower.Election = "follower"
	failing := helmLeader
	failing.Election, failing.Check = "error", "failing"
	notLoaded := helmLeader
	notLoaded.Check = "not-loaded"
	keyInvalid := helmLeader
	keyInvalid.APIKey = "invalid"
	legacy := dcaSpec{Version: "1.0.0", Namespace: "default", Election: "leader", Check: "running", Acquired: at(7, 39, 5),
		Renewed: at(11, 59, 56), ConfigMap: "default/datadog-hpa", MetricTS: at(11, 59, 30)}
	dca := func(file, layoutName string, s dcaSpec, note string) scenarioTarget {
		return scenarioTarget{File: file, Layout: layoutName, DCA: &s, Note: note}
	}
	x9 := "pods/datadog/datadog-cluster-agent-8568545574-x9tc9/exec/"
	out := []scenarioTarget{
		dca("helm/"+x9+"datadog-cluster-agent_status.out", "dca-7.5x-component", helmLeader, "leader, check running"),
		dca("operator/"+x9+"agent_status.out", "dca-7.5x-component", helmLeader, "leader, check running (`agent status` in the DCA image)"),
		dca("leader-status-failing/"+x9+"datadog-cluster-agent_status.out", "dca-7.5x-component", failing,
			"election error, check failing"),
		dca("doctor-api-key-invalid/"+x9+"datadog-cluster-agent_status.out", "dca-7.5x-component", keyInvalid,
			"leader, check running; the forwarder's only API key invalid (403 from the validate endpoint)"),
		dca("leader-check-not-loaded/"+x9+"datadog-cluster-agent_status.out", "dca-7.5x-component", notLoaded,
			"kubernetes_apiserver only under Loading Errors"),
		dca("legacy/pods/default/datadog-cluster-agent-8568545574-x9tc9/exec/datadog-cluster-agent_status.out", "dca-1.x-html",
			legacy, "leader, check running; the 1.x html/template header (the scenario's image is 1.0.0; the stored header version is of the same era)"),
		dca("e2e-smoke/pods/datadog/datadog-cluster-agent-6c9f8b7d4-x9tc9/exec/datadog-cluster-agent_status.out",
			"dca-7.5x-component", smoke, "leader, check running"),
		dca("e2e-smoke/pods/datadog/datadog-cluster-agent-6c9f8b7d4-k2v7p/exec/datadog-cluster-agent_status.out",
			"dca-7.5x-component", smokeFollower, "follower"),
	}
	pair := []string{"datadog-9d5bl", "datadog-k4x2n"}
	helmEP := "https://127.96.10.10:5005"
	c := "agent-7.5x-component"
	out = append(out, agents("env-helm", "datadog", pair, c, agentSpec{State: "connected", Endpoint: helmEP, Version: "7.62.2+commit.2b3f1c4"}, "connected")...)
	out = append(out, agents("env-leader-election", "datadog", pair, c, agentSpec{State: "connected", Endpoint: helmEP, Version: "7.62.2+commit.2b3f1c4"}, "connected")...)
	out = append(out, agents("env-operator", "datadog", []string{"datadog-agent-9d5bl", "datadog-agent-k4x2n"}, c,
		agentSpec{State: "connected", Endpoint: "https://127.96.20.10:5005", Version: "7.62.2+commit.2b3f1c4"}, "connected")...)
	out = append(out, agents("e2e-smoke", "datadog", []string{"datadog-9d5bl", "datadog-7xk2m"}, c,
		agentSpec{State: "connected", Endpoint: "https://127.96.20.10:5005", Version: "7.60.1+commit.d5b1bb0"}, "connected")...)
	out = append(out, agents("env-no-endpoints", "datadog", pair, c, agentSpec{State: "first-refused", Endpoint: helmEP},
		"first contact: connection refused")...)
	out = append(out, agents("env-wrong-port", "datadog", pair, c, agentSpec{State: "first-refused", Endpoint: helmEP},
		"first contact: connection refused")...)
	out = append(out, agents("env-url-port", "datadog", pair, c, agentSpec{State: "first-refused",
		Endpoint: "https://datadog-cluster-agent.datadog.svc", Dial: "127.96.10.10:443"},
		"first contact: connection refused on the URL's implicit port 443")...)
	out = append(out, agents("env-service-late", "datadog", pair, c, agentSpec{State: "no-env"}, "no service-link env")...)
	out = append(out, agents("env-wrong-service-name", "datadog", pair, c, agentSpec{State: "no-env", ServiceName: "datadog-clusteragent"},
		"no service-link env for the misspelt service")...)
	out = append(out, agents("env-token-mismatch", "datadog", pair, c, agentSpec{State: "first-403", Endpoint: helmEP},
		"first contact: 403")...)
	out = append(out, agents("env-token-short", "datadog", pair, c, agentSpec{State: "token-short", TokenLength: 16},
		"the Agent refuses its 16-character token")...)
	out = append(out, agents("env-token-short-mismatch", "datadog", pair, c, agentSpec{State: "token-short", TokenLength: 16},
		"the Agent refuses its 16-character token (not the DCA's either)")...)
	out = append(out, agents("env-two-installs", "datadog-staging", []string{"datadog-staging-9d5bl", "datadog-staging-k4x2n"}, c,
		agentSpec{State: "first-403", Endpoint: "https://datadog-cluster-agent.datadog.svc:5005"}, "first contact: 403")...)
	out = append(out, agents("env-token-retry-delay", "datadog", pair, c, agentSpec{State: "retry-delay", Endpoint: helmEP},
		"between retries: the cause is only in the log")...)
	out = append(out, agents("env-status-silent", "datadog", pair, "agent-7.5x-component-silent",
		agentSpec{State: "first-403", Endpoint: helmEP}, "a build that prints an empty section on any error")...)
	return out
}

func layoutByName(name string) layout {
	for _, l := range layouts {
		if l.Name == name {
			return l
		}
	}
	panic("unknown layout " + name)
}

// spliceSection replaces the body of the "Datadog Cluster Agent" section of an `agent status` text
// (banner included) with `section`, keeping every other section.
func spliceSection(old, section []byte) []byte {
	lines := strings.SplitAfter(string(old), "\n")
	isRule := func(s string) bool { t := strings.TrimSpace(s); return t != "" && strings.Trim(t, "=") == "" }
	title := func(i int) string {
		if i+2 < len(lines) && isRule(lines[i]) && isRule(lines[i+2]) {
			return strings.TrimSpace(lines[i+1])
		}
		return ""
	}
	start, end := -1, len(lines)
	for i := range lines {
		if t := title(i); t != "" {
			if start >= 0 && i > start {
				end = i
				break
			}
			if t == "Datadog Cluster Agent" {
				start = i
			}
		}
	}
	if start < 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(lines[:start], ""))
	b.Write(section)
	b.WriteString(strings.Join(lines[end:], ""))
	return b.Bytes()
}

type indexEntry struct {
	File      string    `json:"file"`
	Kind      string    `json:"kind"`
	Layout    string    `json:"layout"`
	Releases  string    `json:"releases"`
	State     string    `json:"state"`
	Note      string    `json:"note"`
	Engine    string    `json:"engine"`
	Repo      string    `json:"repository"`
	Templates []tmplRef `json:"templates"`
	DataFrom  string    `json:"dataFrom"`
	Rendered  string    `json:"rendered"` // whole | section "Datadog Cluster Agent" (the rest of the file is kept)
}

func engine(l layout) string {
	if l.HTML {
		return "html/template"
	}
	return "text/template"
}

func writeIndex(path string, entries []indexEntry) {
	raw, _ := json.MarshalIndent(map[string]interface{}{
		"generator": "tests/statusfixtures/generator/main.go",
		"clock":     now.Format(time.RFC3339),
		"fixtures":  entries,
	}, "", "  ")
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		fail("%v", err)
	}
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	dir := flag.String("templates", "", "directory holding <commit>/<path> upstream template files")
	out := flag.String("out", "tests/statusfixtures", "where the corpus and its index.json go")
	scenarios := flag.String("scenarios", "tests/scenarios", "scenario directory whose exec fixtures are re-rendered (\"\" to skip)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "error: -templates is required (see the comment at the top of this file)")
		os.Exit(2)
	}
	var index []indexEntry
	write := func(l layout, state, note string, data map[string]interface{}) {
		text, err := renderLayout(l, *dir, data)
		if err != nil {
			fail("%s/%s: %v", l.Name, state, err)
		}
		rel := filepath.Join(l.Kind, l.Name, state+".txt")
		path := filepath.Join(*out, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fail("%v", err)
		}
		if err := os.WriteFile(path, text, 0o644); err != nil {
			fail("%v", err)
		}
		index = append(index, indexEntry{rel, l.Kind, l.Name, l.Releases, state, note, engine(l), upstream, l.Templates, l.Source, "whole"})
	}
	for _, l := range layouts {
		if l.Kind == "dca" {
			for _, st := range dcaStates {
				spec := st.Spec
				spec.Version = corpusVersion[l.Name]
				write(l, st.Name, st.Note, dcaData(spec))
			}
			continue
		}
		for _, st := range agentStatesFor(l) {
			write(l, st.Name, st.Note, agentData(l, st.Spec))
		}
	}
	writeIndex(filepath.Join(*out, "index.json"), index)
	fmt.Printf("%d corpus fixtures written to %s\n", len(index), *out)

	if *scenarios == "" {
		return
	}
	var scenarioIndex []indexEntry
	for _, t := range scenarioTargets() {
		l := layoutByName(t.Layout)
		path := filepath.Join(*scenarios, t.File)
		entry := indexEntry{File: filepath.ToSlash(filepath.Join("tests/scenarios", t.File)), Kind: l.Kind, Layout: l.Name,
			Releases: l.Releases, Note: t.Note, Engine: engine(l), Repo: upstream, Templates: l.Templates, DataFrom: l.Source}
		if t.DCA != nil {
			text, err := renderLayout(l, *dir, dcaData(*t.DCA))
			if err != nil {
				fail("%s: %v", t.File, err)
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				fail("%v", err)
			}
			if err := os.WriteFile(path, text, 0o644); err != nil {
				fail("%v", err)
			}
			entry.State, entry.Rendered = t.DCA.Election+"/"+t.DCA.Check, "whole"
		} else {
			section, err := renderLayout(l, *dir, agentData(l, *t.Agent))
			if err != nil {
				fail("%s: %v", t.File, err)
			}
			old, err := os.ReadFile(path)
			if err != nil {
				fail("%s: %v (an Agent fixture must exist: its other sections are kept)", t.File, err)
			}
			text := spliceSection(old, section)
			if text == nil {
				fail("%s: no \"Datadog Cluster Agent\" section to replace", t.File)
			}
			if err := os.WriteFile(path, text, 0o644); err != nil {
				fail("%v", err)
			}
			entry.State, entry.Rendered = t.Agent.State, "section \"Datadog Cluster Agent\" (the rest of the file is kept)"
		}
		scenarioIndex = append(scenarioIndex, entry)
	}
	writeIndex(filepath.Join(*out, "scenarios-index.json"), scenarioIndex)
	fmt.Printf("%d scenario exec fixtures rendered under %s\n", len(scenarioIndex), *scenarios)
}
