// Package provider lists the WebDAV services davsync's users have, with what
// each needs from the user (host, user name, region), where the user makes an
// app password, and the limits each service documents.
//
// Every fact carries, in a comment beside it, the address of the page it was
// read from. Where a service's own documentation is silent the comment says
// so and the field stays zero: a zero limit means "not documented", never
// "no limit". Facts known only from other clients' source or issue trackers
// are marked as such.
//
// The package has no dependencies outside the standard library and does no
// I/O: Fill only builds and checks a folder URL.
package provider

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// Preset is one WebDAV service the settings form offers.
type Preset struct {
	ID   string `json:"id"`   // stable id, e.g. "nextcloud"; part of the stored settings, never renamed
	Name string `json:"name"` // the product's own name (not translated), e.g. "Nextcloud", "坚果云 Jianguoyun"
	// URL is the folder URL template with {placeholders} for what the user
	// types, e.g. "https://{host}/remote.php/dav/files/{user}/".
	URL string `json:"url"`
	// Inputs are the placeholders the user fills, in the order the form
	// asks for them (subset of "host", "user", "region", "url"); {user} is
	// filled from the user-name field.
	Inputs []string `json:"inputs"`
	// Discovery is true when Nextcloud/ownCloud-style discovery applies
	// (/.well-known/webdav, remote.php).
	Discovery bool `json:"discovery"`
	// AppPasswordURL is where to create an app password ("" when none or
	// not a web page); a template may use {host}.
	AppPasswordURL string `json:"appPasswordUrl,omitempty"`
	// AppPasswordHint is a message key (prefix "presetHint_") that the
	// extension translates: where and how to get the password to type.
	AppPasswordHint string `json:"appPasswordHint,omitempty"`
	// Limits are the limits the service documents.
	Limits Limits `json:"limits"`
	// Sources are the documentation URLs the facts came from.
	Sources []string `json:"sources"`
}

// Limits are a service's documented limits. A zero field means the
// documentation says nothing about it.
type Limits struct {
	MinIntervalMinutes int   `json:"minIntervalMinutes,omitempty"` // an interval floor for rate-limited providers (0 = none)
	RequestsPerWindow  int   `json:"requestsPerWindow,omitempty"`  // documented request limit (0 = unknown/none)
	WindowMinutes      int   `json:"windowMinutes,omitempty"`      // the window RequestsPerWindow counts over
	NoMove             bool  `json:"noMove,omitempty"`             // the provider refuses MOVE (documented)
	NoCopy             bool  `json:"noCopy,omitempty"`             // the provider refuses COPY (documented)
	RootNotWritable    bool  `json:"rootNotWritable,omitempty"`    // files cannot be written at the URL's root; a subfolder is needed
	MaxFileBytes       int64 `json:"maxFileBytes,omitempty"`       // documented maximum upload size (0 = unknown)
}

// regionChoice maps a region the user picks to the text put into the URL.
type regionChoice struct{ name, value string }

// regions are the allowed {region} values of the presets that have one.
var regions = map[string][]regionChoice{
	// pCloud keeps an account's files in one of two data regions, chosen at
	// sign-up: "European Union (EU)" and "United States (US)"
	// (https://help.pcloud.com/article/data-regions). The WebDAV host of
	// each is not in a pCloud page stored here; webdav.pcloud.com (US) and
	// ewebdav.pcloud.com (EU) are what clients configure
	// (https://github.com/cryptomator/android/issues/34,
	// https://github.com/axpdev-lab/aeroftp/issues/180, which names
	// https://help.pcloud.com/article/webdav as pCloud's guide).
	"pcloud": {{"us", "webdav"}, {"eu", "ewebdav"}},
}

var presets = []Preset{
	{
		ID:   "nextcloud",
		Name: "Nextcloud",
		// "example.com/nextcloud/remote.php/dav/files/USERNAME/"; "omit the
		// directory part if the installation is in the root of your domain"
		// (https://docs.nextcloud.com/server/latest/user_manual/en/files/access_webdav.html,
		// source user_manual/files/access_webdav.rst). An installation in a
		// subdirectory needs "other": {host} takes no path.
		URL:       "https://{host}/remote.php/dav/files/{user}/",
		Inputs:    []string{"host", "user"},
		Discovery: true, // the remote.php/dav endpoint above
		// The user manual names the place ("personal settings", Security:
		// "a button to create a new device-specific password"), not its
		// path; /settings/user/security is the path clients link to (e.g.
		// NcDavTray's wiki "Settings → Security → Devices & sessions",
		// https://github.com/ernolf/NcDavTray/wiki/Accounts-and-app-passwords).
		AppPasswordURL: "https://{host}/settings/user/security",
		// Hint: Settings → Security → Devices & sessions → Create new app
		// password; with two-factor login on, such a password is the only
		// way in (session_management page below).
		AppPasswordHint: "presetHint_nextcloud",
		// Limits: none documented for WebDAV clients; upload size and quota
		// are the server administrator's settings.
		Sources: []string{
			"https://docs.nextcloud.com/server/latest/user_manual/en/files/access_webdav.html",
			"https://docs.nextcloud.com/server/stable/user_manual/en/session_management.html",
			"https://github.com/nextcloud/documentation/blob/master/user_manual/files/access_webdav.rst",
		},
	},
	{
		ID:   "owncloud",
		Name: "ownCloud",
		// "example.com/owncloud/remote.php/dav/files/USERNAME/" (ownCloud
		// Server user manual, access_webdav.adoc); other versions of the same
		// page give remote.php/webdav, which serves the logged-in user's
		// home, and both work on ownCloud 10 (maintainer's answer,
		// https://github.com/owncloud/owncloud-sdk/issues/1139). ownCloud
		// Infinite Scale (oCIS) uses other paths and is not covered.
		URL:       "https://{host}/remote.php/dav/files/{user}/",
		Inputs:    []string{"host", "user"},
		Discovery: true,
		// Personal settings → Security → "App Passwords / Tokens": enter an
		// app name, "Create new app passcode" (security.adoc). The manual
		// gives no URL path, so none is set here.
		AppPasswordURL:  "",
		AppPasswordHint: "presetHint_owncloud",
		// Limits: none documented.
		Sources: []string{
			"https://github.com/owncloud/docs/blob/master/modules/user_manual/pages/files/access_webdav.adoc",
			"https://github.com/owncloud/docs/blob/master/modules/user_manual/pages/personal_settings/security.adoc",
		},
	},
	{
		ID:   "synology",
		Name: "Synology NAS",
		// Synology's port list: "5005 (WebDAV), 5006 (WebDAV mit HTTPS)"
		// (https://www.synology.com/de-de/knowledgebase/DSM/tutorial/General/What_network_ports_are_used_by_Synology_services,
		// same table in French at .../fr-fr/knowledgebase/DSM/tutorial/Network/...).
		// The ports belong to the "WebDAV Server" package, one of the
		// "Synology packages you can install" ("WebDAV Server (default ports
		// 5005/5006)", https://www.davx5.com/tested-with/synology/); Synology's
		// own page on installing and enabling it is not stored here. The path layout
		// below the port (shared folders) is not documented in a page stored
		// here, so the template stops at the root; a port the user types
		// with the host (nas.example.com:8443) replaces 5006.
		URL:            "https://{host}:5006/",
		Inputs:         []string{"host"},
		AppPasswordURL: "", // DSM account password; no app passwords documented
		// Hint: install and enable WebDAV Server (Package Center), use HTTPS
		// port 5006 unless changed, log in with a DSM account.
		AppPasswordHint: "presetHint_synology",
		// Limits: none documented.
		Sources: []string{
			"https://www.synology.com/de-de/knowledgebase/DSM/tutorial/General/What_network_ports_are_used_by_Synology_services",
			"https://www.synology.com/fr-fr/knowledgebase/DSM/tutorial/Network/What_network_ports_are_used_by_Synology_services",
			"https://www.davx5.com/tested-with/synology/",
		},
	},
	{
		ID:   "qnap",
		Name: "QNAP NAS",
		// No QNAP page on WebDAV (where to enable it, its port, its path)
		// was found among the stored QNAP manuals; the template is only the
		// HTTPS origin the user types, port included (nas.example.com:8081).
		// The user can add the shared folder with "other" if the root is
		// not where they want to sync.
		URL:             "https://{host}/",
		Inputs:          []string{"host"},
		AppPasswordURL:  "", // not documented
		AppPasswordHint: "presetHint_qnap",
		// Limits: none documented. Shared folder names may not contain
		// " / \ [ ] : ; | = , + * ? < > ` ' (QTS 4.1 manual,
		// https://docs.qnap.com/nas-outdated/4.1/Home/en/share_folders.htm).
		Sources: []string{
			"https://docs.qnap.com/nas-outdated/4.1/Home/en/share_folders.htm",
		},
	},
	{
		ID:   "jianguoyun",
		Name: "坚果云 Jianguoyun",
		// Server address https://dav.jianguoyun.com/dav/ (HTTPS 443);
		// account e-mail plus a third-party app password, made in 账户信息 →
		// 安全选项 → 第三方应用管理 → 添加应用 → 生成密码 ("坚果云第三方应用授权
		// WebDAV开启方法", https://help.jianguoyun.com/?p=2064; the same text
		// is on https://help.jianguoyun.com/?tag=webdav). That page is not
		// stored here; its wording is quoted identically by several clients,
		// e.g. https://github.com/nutstore/obsidian-nutstore-sync/issues/66.
		URL:    "https://dav.jianguoyun.com/dav/",
		Inputs: []string{},
		// The docs give a menu path, not a page address.
		AppPasswordURL:  "",
		AppPasswordHint: "presetHint_jianguoyun",
		Limits: Limits{
			// "免费版用户限制访问频率为每30分钟不超过600次请求。付费用户限制访问
			// 频率为每30分钟不超过1500次请求" (p=2064): 600 per 30 minutes
			// for free accounts, 1500 for paid ones; the lower one is kept
			// since the account's plan is unknown.
			RequestsPerWindow: 600,
			WindowMinutes:     30,
			// The docs give a request budget, not an interval; no floor is
			// set here (the engine can derive one from the budget).
			MinIntervalMinutes: 0,
			// "文件上传大小限制：当前 WebDAV 客户端和网页端上传大小的限制是一致的，
			// 默认为 500M" (p=2064); "500M" read as the smaller 500,000,000.
			MaxFileBytes: 500_000_000,
			// Not in Jianguoyun's docs: client maintainers report that files
			// cannot be written directly under /dav/, only in a folder
			// ("坚果云是不能直接在根目录上传文件的",
			// https://github.com/kisshang1993/NGA-BBS-Script/issues/72;
			// https://github.com/TermoraDev/termora/issues/213).
			RootNotWritable: true,
			// Also documented (p=2064), no field: one PROPFIND lists at most
			// 750 entries, further ones need paging.
		},
		Sources: []string{
			"https://help.jianguoyun.com/?p=2064",
			"https://help.jianguoyun.com/?tag=webdav",
			"https://github.com/nutstore/obsidian-nutstore-sync/issues/66",
			"https://github.com/kisshang1993/NGA-BBS-Script/issues/72",
			"https://github.com/TermoraDev/termora/issues/213",
		},
	},
	{
		ID:   "infinicloud",
		Name: "InfiniCLOUD",
		// Each account has its own WebDAV URL ("実際には収容サーバごと", per
		// node server), shown on My Page under Apps Connection → "WebDAV
		// Connection URL" (https://infini-cloud.net/ja/developer.html,
		// https://infini-cloud.net/en/support_account_mypagelogin.html);
		// example "https://sample.teracloud.jp/dav/" (TeraCLOUD, the former
		// name: https://teracloud.jp/en/support_account_login-settings_apps.html).
		// WebDAV lives under /dav/ of "<node>.teracloud.jp"
		// (https://infini-cloud.net/en/developer_auth.html). The user types
		// the host part of that URL.
		URL:    "https://{host}/dav/",
		Inputs: []string{"host"},
		// The Connection ID is the InfiniCLOUD user ID; the Apps Password is
		// issued on My Page ("Turn on Apps Connection", then "Reissue"),
		// shown once, and accounts made after 2021-06-02 must turn Apps
		// Connection on first (pages above). My Page's address is not given.
		AppPasswordURL:  "",
		AppPasswordHint: "presetHint_infinicloud",
		// Limits: none documented.
		Sources: []string{
			"https://infini-cloud.net/en/support_account_mypagelogin.html",
			"https://infini-cloud.net/en/developer_auth.html",
			"https://infini-cloud.net/ja/developer.html",
			"https://teracloud.jp/en/support_account_login-settings_apps.html",
		},
	},
	{
		ID:   "koofr",
		Name: "Koofr",
		// Koofr's WebDAV help (https://koofr.eu/help/koofr_with_webdav/,
		// https://app.koofr.net/help/webdav) says to type
		// https://app.koofr.net/dav/Koofr; neither page is stored here, the
		// address is as quoted and linked by client maintainers
		// (https://github.com/innomatica/carta/issues/1,
		// https://github.com/AlistGo/alist/issues/5984). A Joplin contributor
		// reports that this URL is the storage root and writable
		// (https://github.com/laurent22/joplin/pull/12586).
		// The trailing slash marks the folder (v2rayN's maintainer found the
		// address works only with it, https://github.com/2dust/v2rayN/issues/8647).
		URL:    "https://app.koofr.net/dav/Koofr/",
		Inputs: []string{},
		// "generate one at https://app.koofr.net/app/admin/preferences/password"
		// (rclone's Koofr docs, https://rclone.org/koofr/): Preferences →
		// Password → App passwords → Generate.
		AppPasswordURL:  "https://app.koofr.net/app/admin/preferences/password",
		AppPasswordHint: "presetHint_koofr",
		// Limits: none found.
		Sources: []string{
			"https://koofr.eu/help/koofr_with_webdav/",
			"https://app.koofr.net/help/webdav",
			"https://rclone.org/koofr/",
			"https://github.com/innomatica/carta/issues/1",
		},
	},
	{
		ID:   "pcloud",
		Name: "pCloud",
		// {region} is "us" or "eu" (see regions above): webdav.pcloud.com or
		// ewebdav.pcloud.com.
		URL:    "https://{region}.pcloud.com/",
		Inputs: []string{"region"},
		// pCloud WebDAV takes the account e-mail and password; no app
		// passwords found. Cyberduck's docs were asked to say "WebDAV access
		// is only available for pCloud premium/paid plans"
		// (https://github.com/iterate-ch/docs/issues/324); with two-factor
		// login a first WebDAV login waits for a confirmation e-mail
		// (https://github.com/axpdev-lab/aeroftp/issues/180). Neither is from
		// a pCloud page stored here.
		AppPasswordURL:  "",
		AppPasswordHint: "presetHint_pcloud",
		// Limits: none found.
		Sources: []string{
			"https://help.pcloud.com/article/data-regions",
			"https://help.pcloud.com/article/webdav",
			"https://github.com/cryptomator/android/issues/34",
			"https://github.com/iterate-ch/docs/issues/324",
		},
	},
	{
		ID:   "yandex",
		Name: "Yandex Disk",
		// "API Яндекс Диска доступен по адресу webdav.yandex.ru ... по
		// протоколу HTTPS (порт 443)"; the English page gives
		// https://webdav.yandex.com. "Подключение к Диску по WebDAV доступно
		// только пользователям с тарифом Яндекс 360"
		// (https://yandex.ru/dev/disk/doc/ru/concepts/quickstart,
		// https://yandex.ru/dev/disk/doc/en/concepts/quickstart).
		URL:    "https://webdav.yandex.ru/",
		Inputs: []string{},
		// "создайте пароль приложения с типом Файлы": "Перейдите по адресу
		// https://id.yandex.ru/security/app-passwords", "Файлы WebDAV"
		// (https://yandex.ru/dev/on-premises/disk/doc/ru/concepts/quickstart);
		// https://yandex.com/support/passport/authorization/app-passwords.html
		// lists "WebDAV client for Yandex.Disk" among the uses.
		AppPasswordURL:  "https://id.yandex.ru/security/app-passwords",
		AppPasswordHint: "presetHint_yandex",
		// Limits: none documented. LOCK/UNLOCK are only nominal ("in
		// actuality, this does not affect the state of the file",
		// https://yandex.ru/dev/disk/doc/en/concepts/api-methods); PUT may
		// answer 100 Continue (https://yandex.ru/dev/disk/doc/ru/reference/put).
		Sources: []string{
			"https://yandex.ru/dev/disk/doc/ru/concepts/quickstart",
			"https://yandex.ru/dev/disk/doc/en/concepts/quickstart",
			"https://yandex.ru/dev/on-premises/disk/doc/ru/concepts/quickstart",
			"https://yandex.com/support/passport/authorization/app-passwords.html",
			"https://yandex.ru/dev/disk/doc/en/concepts/api-methods",
		},
	},
	{
		ID:   "hetzner",
		Name: "Hetzner Storage Box",
		// "use the DNS name (<username>.your-storagebox.de)"
		// (https://wiki.hetzner.de/index.php?title=Storage_Boxes/en&oldid=30376);
		// sub-accounts use their own name, e.g. uXXXXX-subX.your-storagebox.de,
		// and also have HTTPS and WebDAV
		// (https://docs.hetzner.com/de/storage/storage-box/additional-users).
		// {user} is therefore a DNS label here, not a path segment.
		URL:    "https://{user}.your-storagebox.de/",
		Inputs: []string{"user"},
		// The Storage Box password; no app passwords. A protocol has to be
		// enabled for the box in Hetzner Console before use
		// (https://docs.hetzner.com/robot/storage-box/general); WebDAV is off
		// by default in Hetzner's API ("webdav_enabled ... Choices: false ←
		// (default)", https://ansible-community.github.io/package-doc-builds/collections/hetzner/hcloud/storage_box_module.html).
		AppPasswordURL:  "",
		AppPasswordHint: "presetHint_hetzner",
		// Limits with no field: "a 10-connection limit on each Storage Box
		// account"; the directories "/etc" and "/lib" cannot be created
		// (wiki page above). No request rate or file size documented.
		Sources: []string{
			"https://wiki.hetzner.de/index.php?title=Storage_Boxes/en&oldid=30376",
			"https://docs.hetzner.com/robot/storage-box/general",
			"https://docs.hetzner.com/de/storage/storage-box/additional-users",
		},
	},
	{
		ID:   "fastmail",
		Name: "Fastmail Files",
		// Fastmail's "Server names and ports" page lists the files server;
		// its Files section is not in the stored copy
		// (https://www.fastmail.com/help/technical/servernamesandports.html).
		// GNOME Online Accounts sets https://myfiles.fastmail.com citing
		// that page (https://www.fastmail.help/hc/en-us/articles/1500000278342-Server-names-and-ports,
		// gnome-online-accounts src/goabackend/goadavclient.c).
		URL:    "https://myfiles.fastmail.com/",
		Inputs: []string{},
		// "You will need to get an app password to connect to these servers.
		// You cannot use your regular Fastmail password." (page above). The
		// settings page address is not in it.
		AppPasswordURL:  "",
		AppPasswordHint: "presetHint_fastmail",
		Limits: Limits{
			// "The maximum file size you can upload is 50 MB."; hourly and
			// daily bandwidth limits also apply, DAV included, numbers not
			// given (https://www.fastmail.com/help/files/usage.html).
			MaxFileBytes: 50_000_000,
		},
		Sources: []string{
			"https://www.fastmail.com/help/technical/servernamesandports.html",
			"https://www.fastmail.com/help/files/usage.html",
			"https://www.fastmail.help/hc/en-us/articles/1500000278342-Server-names-and-ports",
		},
	},
	{
		ID:   "other",
		Name: "Other WebDAV server",
		// The user types the whole folder URL.
		URL:             "{url}",
		Inputs:          []string{"url"},
		AppPasswordHint: "presetHint_other",
	},
}

// All returns every preset, in the order the form shows them, "other" last.
// The result is a copy: changing it does not change the package's table.
func All() []Preset {
	out := make([]Preset, len(presets))
	for i, p := range presets {
		out[i] = p.clone()
	}
	return out
}

// Get returns the preset with the given id, or false if there is none.
func Get(id string) (Preset, bool) {
	for _, p := range presets {
		if p.ID == id {
			return p.clone(), true
		}
	}
	return Preset{}, false
}

func (p Preset) clone() Preset {
	p.Inputs = append([]string(nil), p.Inputs...)
	p.Sources = append([]string(nil), p.Sources...)
	return p
}

// Fill returns the folder URL for preset p and the user's inputs
// (placeholder → value). Every placeholder of p.URL must be given; values
// are trimmed of surrounding spaces and checked so they cannot change the
// URL's shape:
//   - host: letters, digits, dots and dashes, with an optional :port (which
//     replaces a port the template puts after {host});
//   - user: escaped as one path segment ("/", "\", "." and ".." refused), or
//     a DNS label where the template puts it in the host name;
//   - region: one of the preset's regions;
//   - url (preset "other"): a full http:// or https:// URL, returned as typed.
//
// Inputs the template does not use are ignored. Errors are plain errors whose
// message names the missing or invalid input.
func (p Preset) Fill(inputs map[string]string) (string, error) {
	if p.URL == "" {
		return "", fmt.Errorf("provider: preset %q has no URL template", p.ID)
	}
	if p.URL == "{url}" {
		v, err := p.value(inputs, "url")
		if err != nil {
			return "", err
		}
		return checkFullURL(v)
	}
	authority := authorityEnd(p.URL)
	var b strings.Builder
	t := p.URL
	for {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			b.WriteString(t)
			break
		}
		end := strings.IndexByte(t[open:], '}')
		if end < 0 {
			return "", fmt.Errorf("provider: preset %q has a malformed URL template", p.ID)
		}
		end += open
		b.WriteString(t[:open])
		name := t[open+1 : end]
		inHost := len(p.URL)-len(t)+open < authority
		t = t[end+1:]
		v, err := p.value(inputs, name)
		if err != nil {
			return "", err
		}
		switch {
		case name == "host" && inHost:
			host, port, err := checkHost(v)
			if err != nil {
				return "", err
			}
			b.WriteString(host)
			if port != "" {
				b.WriteString(":" + port)
				t = dropPort(t) // the user's port replaces the template's
			}
		case name == "user" && inHost:
			label, err := checkLabel(v)
			if err != nil {
				return "", err
			}
			b.WriteString(label)
		case name == "user":
			seg, err := checkSegment(v)
			if err != nil {
				return "", err
			}
			b.WriteString(seg)
		case name == "region":
			r, err := p.region(v)
			if err != nil {
				return "", err
			}
			b.WriteString(r)
		default:
			return "", fmt.Errorf("provider: preset %q uses an unsupported placeholder {%s}", p.ID, name)
		}
	}
	out := b.String()
	// A last check that the template and values made one plain https URL.
	u, err := url.Parse(out)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("provider: preset %q produced an invalid URL %q", p.ID, out)
	}
	return out, nil
}

// value returns the trimmed input name, or an error naming it if missing.
func (p Preset) value(inputs map[string]string, name string) (string, error) {
	v := strings.TrimSpace(inputs[name])
	if v == "" {
		return "", badInput(name, needs(p.Name, name))
	}
	return v, nil
}

// badInput is the error for one input the user typed: its operation names
// the input (`input "host"`), so a caller can tell which field to fix.
func badInput(name string, m msg.Msg) error {
	return errkind.Say(errkind.Invalid, "input "+strconv.Quote(name), m)
}

// needs says which input the preset lacks.
func needs(preset, name string) msg.Msg {
	switch name {
	case "host":
		return msg.New("errProviderNeedsHost", preset)
	case "user":
		return msg.New("errProviderNeedsUser", preset)
	case "region":
		return msg.New("errProviderNeedsRegion", preset)
	case "url":
		return msg.New("errProviderNeedsURL", preset)
	}
	return msg.New("errProviderNeedsValue", preset, name)
}

func (p Preset) region(v string) (string, error) {
	choices := regions[p.ID]
	names := make([]string, 0, len(choices))
	for _, c := range choices {
		if strings.EqualFold(v, c.name) {
			return c.value, nil
		}
		names = append(names, c.name)
	}
	if len(names) == 0 {
		return "", fmt.Errorf("provider: preset %q has no regions", p.ID)
	}
	return "", badInput("region", msg.New("errProviderRegion", v, p.Name, strings.Join(names, ", ")))
}

// authorityEnd is the index in template t where its host part ends: the
// first "/" after "://", or len(t).
func authorityEnd(t string) int {
	i := strings.Index(t, "://")
	if i < 0 {
		return 0
	}
	i += 3
	if j := strings.IndexByte(t[i:], '/'); j >= 0 {
		return i + j
	}
	return len(t)
}

// dropPort removes a ":digits" port at the start of template rest t.
func dropPort(t string) string {
	if !strings.HasPrefix(t, ":") {
		return t
	}
	i := 1
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 1 {
		return t
	}
	return t[i:]
}

// checkHost splits v into a lower-case host name and an optional port and
// refuses anything else (paths, "@", "?", spaces, IPv6 brackets).
func checkHost(v string) (host, port string, err error) {
	host = v
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		host, port = v[:i], v[i+1:]
		n, perr := strconv.Atoi(port)
		if perr != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") || len(port) > 5 {
			return "", "", badInput("host", msg.New("errProviderPort", v))
		}
		port = strconv.Itoa(n)
	}
	if len(host) > 253 {
		return "", "", badInput("host", msg.New("errProviderHostLong", v))
	}
	for _, label := range strings.Split(host, ".") {
		if !isLabel(label) {
			return "", "", badInput("host", msg.New("errProviderHostChars", v))
		}
	}
	return strings.ToLower(host), port, nil
}

// checkLabel checks a value the template puts into a host name.
func checkLabel(v string) (string, error) {
	if !isLabel(v) {
		return "", fmt.Errorf("provider: invalid user %q: here it is part of the server name, so use only letters, digits and dashes", v)
	}
	return strings.ToLower(v), nil
}

// isLabel reports whether s is one DNS label: 1 to 63 letters, digits and
// dashes, not starting or ending with a dash.
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkSegment escapes v as one path segment, refusing values that would
// name another folder.
func checkSegment(v string) (string, error) {
	if v == "." || v == ".." || strings.ContainsAny(v, `/\`) {
		return "", fmt.Errorf("provider: invalid user %q: it may not contain / or \\, nor be \".\" or \"..\"", v)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("provider: invalid user %q: it contains a control character", v)
		}
	}
	return url.PathEscape(v), nil
}

// checkFullURL checks the URL the user typed for "other".
func checkFullURL(v string) (string, error) {
	for _, r := range v {
		if r <= 0x20 || r == 0x7f {
			return "", fmt.Errorf("provider: invalid url %q: it contains a space or control character", v)
		}
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", fmt.Errorf("provider: invalid url %q: %v", v, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("provider: invalid url %q: it must start with https:// or http://", v)
	}
	if u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("provider: invalid url %q: it must name a server, e.g. https://dav.example.com/folder/", v)
	}
	if u.User != nil {
		return "", fmt.Errorf("provider: invalid url %q: put the user name and password in their own fields, not in the URL", v)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(v, "?#") {
		return "", fmt.Errorf("provider: invalid url %q: a WebDAV folder URL has no ? or # part", v)
	}
	return v, nil
}

// requestsPerCycle is about what one sync cycle costs at most (a read, a
// snapshot copy and listing, a write and its confirmation, a retry).
const requestsPerCycle = 6

// IntervalFloor is the shortest automatic-sync interval davsync allows for
// p, in minutes (0: none): MinIntervalMinutes, or, for a provider that
// documents a request budget shared by all of the account's apps, the
// interval at which davsync's cycles use at most a tenth of it.
func (p Preset) IntervalFloor() float64 {
	floor := float64(p.Limits.MinIntervalMinutes)
	if l := p.Limits; l.RequestsPerWindow > 0 && l.WindowMinutes > 0 {
		if f := float64(l.WindowMinutes) * requestsPerCycle * 10 / float64(l.RequestsPerWindow); f > floor {
			floor = f
		}
	}
	return floor
}
