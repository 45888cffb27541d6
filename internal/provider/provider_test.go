package provider

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var placeholderRE = regexp.MustCompile(`\{([a-z]+)\}`)

func TestPresetsComplete(t *testing.T) {
	all := All()
	if len(all) == 0 {
		t.Fatal("no presets")
	}
	if last := all[len(all)-1].ID; last != "other" {
		t.Errorf("last preset is %q, want other", last)
	}
	seen := map[string]bool{}
	for _, p := range all {
		if p.ID == "" || p.Name == "" || p.URL == "" {
			t.Errorf("preset %+v lacks ID, Name or URL", p)
		}
		if seen[p.ID] {
			t.Errorf("duplicate id %q", p.ID)
		}
		seen[p.ID] = true
		if p.ID != "other" && len(p.Sources) == 0 {
			t.Errorf("%s: no sources", p.ID)
		}
		for _, s := range p.Sources {
			u, err := url.Parse(s)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				t.Errorf("%s: source %q is not an https URL", p.ID, s)
			}
		}
		if !strings.HasPrefix(p.AppPasswordHint, "presetHint_") {
			t.Errorf("%s: hint key %q lacks the presetHint_ prefix", p.ID, p.AppPasswordHint)
		}
		if p.AppPasswordURL != "" && !strings.HasPrefix(p.AppPasswordURL, "https://") {
			t.Errorf("%s: app password URL %q is not https", p.ID, p.AppPasswordURL)
		}
		// Inputs are exactly the template's placeholders.
		var inURL []string
		for _, m := range placeholderRE.FindAllStringSubmatch(p.URL, -1) {
			inURL = append(inURL, m[1])
		}
		if strings.Join(inURL, ",") != strings.Join(p.Inputs, ",") {
			t.Errorf("%s: inputs %v, template placeholders %v", p.ID, p.Inputs, inURL)
		}
		if (p.Limits.RequestsPerWindow == 0) != (p.Limits.WindowMinutes == 0) {
			t.Errorf("%s: request limit without window or window without limit", p.ID)
		}
		if p.Limits.MaxFileBytes < 0 || p.Limits.MinIntervalMinutes < 0 {
			t.Errorf("%s: negative limit", p.ID)
		}
	}
	for _, id := range []string{"nextcloud", "owncloud", "synology", "qnap", "jianguoyun", "infinicloud", "koofr", "pcloud", "yandex", "hetzner", "fastmail", "other"} {
		if !seen[id] {
			t.Errorf("preset %q missing", id)
		}
	}
}

func TestGetAndCopies(t *testing.T) {
	p, ok := Get("nextcloud")
	if !ok || p.ID != "nextcloud" {
		t.Fatalf("Get(nextcloud) = %v, %v", p.ID, ok)
	}
	if _, ok := Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	p.Inputs[0] = "changed"
	p.Sources[0] = "changed"
	all := All()
	all[0].Inputs[0] = "changed"
	again, _ := Get("nextcloud")
	if again.Inputs[0] != "host" || again.Sources[0] == "changed" {
		t.Error("changing a returned preset changed the table")
	}
}

func TestDiscoveryAndLimits(t *testing.T) {
	for _, id := range []string{"nextcloud", "owncloud"} {
		if p, _ := Get(id); !p.Discovery {
			t.Errorf("%s: Discovery false", id)
		}
	}
	j, _ := Get("jianguoyun")
	if j.Limits.RequestsPerWindow != 600 || j.Limits.WindowMinutes != 30 || !j.Limits.RootNotWritable || j.Limits.MaxFileBytes != 500_000_000 {
		t.Errorf("jianguoyun limits = %+v", j.Limits)
	}
}

func TestFill(t *testing.T) {
	tests := []struct {
		id     string
		inputs map[string]string
		want   string
	}{
		{"nextcloud", map[string]string{"host": "cloud.example.com", "user": "alice"}, "https://cloud.example.com/remote.php/dav/files/alice/"},
		{"nextcloud", map[string]string{"host": " Cloud.Example.com:8443 ", "user": "alice smith"}, "https://cloud.example.com:8443/remote.php/dav/files/alice%20smith/"},
		{"nextcloud", map[string]string{"host": "cloud.example.com", "user": "a@b.com", "unused": "x"}, "https://cloud.example.com/remote.php/dav/files/a@b.com/"},
		{"owncloud", map[string]string{"host": "10.0.0.5", "user": "bob"}, "https://10.0.0.5/remote.php/dav/files/bob/"},
		{"synology", map[string]string{"host": "nas.local"}, "https://nas.local:5006/"},
		{"synology", map[string]string{"host": "nas.example.com:8443"}, "https://nas.example.com:8443/"},
		{"qnap", map[string]string{"host": "qnap.example.com:8081"}, "https://qnap.example.com:8081/"},
		{"jianguoyun", nil, "https://dav.jianguoyun.com/dav/"},
		{"infinicloud", map[string]string{"host": "sample.teracloud.jp"}, "https://sample.teracloud.jp/dav/"},
		{"koofr", map[string]string{}, "https://app.koofr.net/dav/Koofr/"},
		{"pcloud", map[string]string{"region": "us"}, "https://webdav.pcloud.com/"},
		{"pcloud", map[string]string{"region": "EU"}, "https://ewebdav.pcloud.com/"},
		{"yandex", nil, "https://webdav.yandex.ru/"},
		{"hetzner", map[string]string{"user": "u123456"}, "https://u123456.your-storagebox.de/"},
		{"hetzner", map[string]string{"user": "U123456-sub1"}, "https://u123456-sub1.your-storagebox.de/"},
		{"fastmail", nil, "https://myfiles.fastmail.com/"},
		{"other", map[string]string{"url": "https://dav.example.com/a b/"}, ""}, // placeholder: refused below
		{"other", map[string]string{"url": " https://dav.example.com/davsync/ "}, "https://dav.example.com/davsync/"},
		{"other", map[string]string{"url": "http://192.168.1.2:8080/dav/"}, "http://192.168.1.2:8080/dav/"},
	}
	for _, tc := range tests {
		p, ok := Get(tc.id)
		if !ok {
			t.Fatalf("no preset %q", tc.id)
		}
		got, err := p.Fill(tc.inputs)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s %v: got %q, want an error", tc.id, tc.inputs, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %v: got %q, %v; want %q", tc.id, tc.inputs, got, err, tc.want)
		}
	}
}

func TestFillEveryPreset(t *testing.T) {
	good := map[string]string{"host": "h.example.com", "user": "u1", "region": "eu", "url": "https://dav.example.com/x/"}
	for _, p := range All() {
		got, err := p.Fill(good)
		if err != nil {
			t.Errorf("%s: %v", p.ID, err)
			continue
		}
		u, err := url.Parse(got)
		if err != nil || u.Host == "" || (p.ID != "other" && u.Scheme != "https") {
			t.Errorf("%s: bad URL %q", p.ID, got)
		}
		// Every input is required.
		for _, in := range p.Inputs {
			partial := map[string]string{}
			for k, v := range good {
				if k != in {
					partial[k] = v
				}
			}
			if _, err := p.Fill(partial); err == nil || !strings.Contains(err.Error(), `"`+in+`"`) {
				t.Errorf("%s without %s: err = %v, want one naming %q", p.ID, in, err, in)
			}
			partial[in] = "   "
			if _, err := p.Fill(partial); err == nil {
				t.Errorf("%s with blank %s: no error", p.ID, in)
			}
		}
	}
}

func TestFillRefuses(t *testing.T) {
	tests := []struct {
		id     string
		inputs map[string]string
		names  string // text the error must contain
	}{
		{"nextcloud", map[string]string{"host": "evil.com/x", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "a@b", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "host?x", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "host#x", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "a b", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "[::1]", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "https://cloud.example.com", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "h.example.com:99999", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "h.example.com:", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "h.example.com:80:80", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "-h.example.com", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "h..example.com", "user": "a"}, "host"},
		{"nextcloud", map[string]string{"host": "h.example.com", "user": "../x"}, "user"},
		{"nextcloud", map[string]string{"host": "h.example.com", "user": ".."}, "user"},
		{"nextcloud", map[string]string{"host": "h.example.com", "user": "."}, "user"},
		{"nextcloud", map[string]string{"host": "h.example.com", "user": `a\b`}, "user"},
		{"nextcloud", map[string]string{"host": "h.example.com", "user": "a\x00b"}, "user"},
		{"nextcloud", map[string]string{"host": "h.example.com"}, "user"},
		{"nextcloud", map[string]string{"user": "a"}, "host"},
		{"hetzner", map[string]string{"user": "../x"}, "user"},
		{"hetzner", map[string]string{"user": "evil.com/x"}, "user"},
		{"hetzner", map[string]string{"user": "a@b"}, "user"},
		{"hetzner", map[string]string{"user": "u1.evil.com"}, "user"},
		{"synology", map[string]string{"host": "nas/x"}, "host"},
		{"infinicloud", map[string]string{"host": "evil.com/x?"}, "host"},
		{"pcloud", map[string]string{"region": "asia"}, "region"},
		{"pcloud", map[string]string{"region": "evil.com/x"}, "region"},
		{"pcloud", map[string]string{}, "region"},
		{"other", map[string]string{"url": "ftp://dav.example.com/"}, "url"},
		{"other", map[string]string{"url": "dav.example.com/x"}, "url"},
		{"other", map[string]string{"url": "javascript:alert(1)"}, "url"},
		{"other", map[string]string{"url": "https://"}, "url"},
		{"other", map[string]string{"url": "https://a@b/"}, "url"},
		{"other", map[string]string{"url": "https://host/x?y"}, "url"},
		{"other", map[string]string{"url": "https://host/x#y"}, "url"},
		{"other", map[string]string{"url": "https://host/a\nb"}, "url"},
		{"other", map[string]string{}, "url"},
	}
	for _, tc := range tests {
		p, _ := Get(tc.id)
		got, err := p.Fill(tc.inputs)
		if err == nil {
			t.Errorf("%s %q: got %q, want an error", tc.id, tc.inputs, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%s %q: error %q does not name %q", tc.id, tc.inputs, err, tc.names)
		}
	}
}

func TestFillBadTemplate(t *testing.T) {
	for _, p := range []Preset{
		{ID: "x", Name: "X"},
		{ID: "x", Name: "X", URL: "https://{host/"},
		{ID: "x", Name: "X", URL: "https://{node}.example.com/"},
		{ID: "x", Name: "X", URL: "https://{region}.example.com/"},
		{ID: "x", Name: "X", URL: "https://example.com/{host}/"}, // host outside the host part
	} {
		in := map[string]string{"host": "h", "node": "n", "region": "us"}
		if got, err := p.Fill(in); err == nil {
			t.Errorf("template %q: got %q, want an error", p.URL, got)
		}
	}
}
