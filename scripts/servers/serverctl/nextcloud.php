<?php
// A Nextcloud-shaped server on sabre/dav 1.8 (Debian php-sabre-dav), for
// davsync's discovery tests: Nextcloud's URL layout and discovery answers
// in front of one user's folder. Run by `php -S` as a router script; the
// paths and credentials come from the environment. What each answer copies:
//
//   /.well-known/caldav|carddav  301 Location: /remote.php/dav/ (Nextcloud's
//                                .htaccess and nginx reference config)
//   /.well-known/OTHER           301 Location: /index.php/.well-known/OTHER
//                                (nginx reference config; .htaccess rewrites
//                                internally to the same controller), which
//                                answers 404 {"message":"OTHER not supported"}
//                                with X-NEXTCLOUD-WELL-KNOWN: 1 to GET
//                                (core WellKnownController; nothing in a stock
//                                Nextcloud handles "webdav"). With
//                                DAVSYNC_NC_WELLKNOWN_WEBDAV=1 /.well-known/webdav
//                                answers like caldav, as some admins add.
//   /status.php                  the JSON of Nextcloud's status.php, no auth
//   /remote.php/dav/             the v2 DAV root (apps/dav RootCollection):
//                                principals/, files/, calendars/, ...;
//                                files/USER/ is the user's folder, files/OTHER
//                                404 (no such principal); listing files/ 405
//   /remote.php/webdav/          the legacy v1 endpoint: the same folder
//                                (also /remote.php/files/, as remote.php maps it)
//   / and /index.php             302 to /login (with valid Basic auth to the
//                                dashboard); PROPFIND 405 (lib/base.php);
//                                User-Agent DavClnt: 302 /remote.php/webdav/
require_once 'Sabre/autoload.php';

const NC_VERSION = '28.0.4.1';
const NC_VERSIONSTRING = '28.0.4';
const NC_REALM = 'Nextcloud';

function nc_user() { return (string)getenv('DAVSYNC_NC_USER'); }
function nc_data() { return (string)getenv('DAVSYNC_NC_DATA'); }
function nc_state() { return (string)getenv('DAVSYNC_NC_STATE'); }

function nc_valid($user, $pass) {
    return hash_equals(nc_user(), (string)$user)
        && hash_equals((string)getenv('DAVSYNC_NC_PASS'), (string)$pass);
}

class NcBasicAuth extends Sabre\DAV\Auth\Backend\AbstractBasic {
    protected function validateUserPass($username, $password) {
        return nc_valid($username, $password);
    }
}

// The one user as principals/users/USER; no groups, no other principals.
class NcPrincipals implements Sabre\DAVACL\PrincipalBackend\BackendInterface {
    private function me() {
        return array('uri' => 'principals/users/' . nc_user(), '{DAV:}displayname' => nc_user());
    }
    function getPrincipalsByPrefix($prefixPath) {
        return $prefixPath === 'principals/users' ? array($this->me()) : array();
    }
    function getPrincipalByPath($path) {
        return $path === 'principals/users/' . nc_user() ? $this->me() : null;
    }
    function updatePrincipal($path, $mutations) { return false; }
    function searchPrincipals($prefixPath, array $searchProperties) { return array(); }
    function getGroupMemberSet($principal) { return array(); }
    function getGroupMembership($principal) { return array(); }
    function setGroupMemberSet($principal, array $members) {
        throw new Sabre\DAV\Exception\Forbidden('Setting members of the group is not supported yet');
    }
}

// The user's folder, named after the user like Nextcloud's FilesHome.
class NcFilesHome extends Sabre\DAV\FSExt\Directory {
    function getName() { return nc_user(); }
    function setName($name) { throw new Sabre\DAV\Exception\Forbidden('Permission denied to rename this folder'); }
    function delete() { throw new Sabre\DAV\Exception\Forbidden('Permission denied to delete home folder'); }
}

// remote.php/dav/files: apps/dav Files\RootCollection. A known principal
// other than the user gets an empty collection, an unknown name 404 (from
// AbstractPrincipalCollection::getChild); listing is disabled as in
// Nextcloud without debug mode.
class NcFilesRoot extends Sabre\DAVACL\AbstractPrincipalCollection {
    function getChildForPrincipal(array $principalInfo) {
        list(, $name) = Sabre\DAV\URLUtil::splitPath($principalInfo['uri']);
        if ($name !== nc_user()) {
            return new Sabre\DAV\SimpleCollection($name);
        }
        return new NcFilesHome(nc_data());
    }
    function getName() { return 'files'; }
}

function nc_principals($prefix, $backend) {
    $c = new Sabre\DAVACL\PrincipalCollection($backend, $prefix);
    $c->disableListing = true;
    return $c;
}

function nc_dav_v2() {
    $backend = new NcPrincipals();
    $files = new NcFilesRoot($backend, 'principals/users');
    $files->disableListing = true;
    $empty = function ($name) { return new Sabre\DAV\SimpleCollection($name); };
    $root = new Sabre\DAV\SimpleCollection('root', array(
        new Sabre\DAV\SimpleCollection('principals', array(
            nc_principals('principals/users', $backend),
            nc_principals('principals/groups', $backend),
            nc_principals('principals/system', $backend),
        )),
        $files,
        $empty('calendars'),
        $empty('system-calendars'),
        $empty('public-calendars'),
        $empty('addressbooks'),
        $empty('systemtags'),
        $empty('systemtags-relations'),
        $empty('comments'),
        $empty('uploads'),
        $empty('avatars'),
        $empty('provisioning'),
        $empty('versions'),
        $empty('trashbin'),
    ));
    $server = new Sabre\DAV\Server($root);
    $server->setBaseUri('/remote.php/dav/');
    $server->addPlugin(new Sabre\DAV\Auth\Plugin(new NcBasicAuth(), NC_REALM));
    $acl = new Sabre\DAVACL\Plugin();
    $acl->defaultUsernamePath = 'principals/users';
    $acl->principalCollectionSet = array('principals/users', 'principals/groups');
    $server->addPlugin($acl);
    $server->addPlugin(new Sabre\DAV\Locks\Plugin(
        new Sabre\DAV\Locks\Backend\File(nc_state() . '/locks-dav')));
    return $server;
}

function nc_dav_v1($service) {
    $server = new Sabre\DAV\Server(new NcFilesHome(nc_data()));
    $server->setBaseUri('/remote.php/' . $service . '/');
    $server->addPlugin(new Sabre\DAV\Auth\Plugin(new NcBasicAuth(), NC_REALM));
    $server->addPlugin(new Sabre\DAV\Locks\Plugin(
        new Sabre\DAV\Locks\Backend\File(nc_state() . '/locks-' . $service)));
    return $server;
}

function nc_reply($status, $type, $body, array $headers = array()) {
    http_response_code($status);
    if ($type !== '') {
        header('Content-Type: ' . $type);
    }
    foreach ($headers as $h) {
        header($h);
    }
    echo $body;
}

function nc_redirect($status, $location) {
    nc_reply($status, 'text/html', "<html><head><title>$status</title></head><body>Moved</body></html>\n",
        array('Location: ' . $location));
}

function nc_not_found_page() {
    nc_reply(404, 'text/html; charset=UTF-8',
        "<!DOCTYPE html>\n<html><head><title>Nextcloud</title></head><body><h2>Page not found</h2>"
        . "<p>The page could not be found on the server.</p></body></html>\n");
}

function nc_basic_ok() {
    $h = isset($_SERVER['HTTP_AUTHORIZATION']) ? $_SERVER['HTTP_AUTHORIZATION'] : '';
    if (!preg_match('/^Basic\s+(.*)$/i', $h, $m)) {
        return false;
    }
    $pair = explode(':', (string)base64_decode($m[1]), 2);
    return count($pair) === 2 && nc_valid($pair[0], $pair[1]);
}

// Nextcloud does not tell its sabre/dav version in error bodies.
Sabre\DAV\Server::$exposeVersion = false;

$method = $_SERVER['REQUEST_METHOD'];
$uri = $_SERVER['REQUEST_URI'];
$q = strpos($uri, '?');
$path = $q === false ? $uri : substr($uri, 0, $q);
$self = 'http://' . $_SERVER['HTTP_HOST'];

// /.well-known (nginx reference config: `location ^~ /.well-known`).
if ($path === '/.well-known/caldav' || $path === '/.well-known/carddav'
    || ($path === '/.well-known/webdav' && getenv('DAVSYNC_NC_WELLKNOWN_WEBDAV') === '1')) {
    nc_redirect(301, '/remote.php/dav/');
    return;
}
if (preg_match('#^/\.well-known/(acme-challenge|pki-validation)(/|$)#', $path)) {
    nc_reply(404, 'text/html', "<html><body>404 Not Found</body></html>\n");
    return;
}
if (strpos($path, '/.well-known/') === 0) {
    nc_redirect(301, '/index.php' . $uri);
    return;
}

// The front controller's well-known route (core WellKnownController, GET).
if (preg_match('#^/index\.php/\.well-known/([^/]+)$#', $path, $m)) {
    if ($method !== 'GET' && $method !== 'HEAD') {
        http_response_code(405);
        return;
    }
    $service = rawurldecode($m[1]);
    nc_reply(404, 'application/json; charset=utf-8',
        json_encode(array('message' => "$service not supported")),
        array('X-NEXTCLOUD-WELL-KNOWN: 1'));
    return;
}

if ($path === '/status.php') {
    nc_reply(200, 'application/json', json_encode(array(
        'installed' => true,
        'maintenance' => false,
        'needsDbUpgrade' => false,
        'version' => NC_VERSION,
        'versionstring' => NC_VERSIONSTRING,
        'edition' => '',
        'productname' => 'Nextcloud',
        'extendedSupport' => false,
    )), array('Access-Control-Allow-Origin: *'));
    return;
}

// remote.php: the service is the first path segment (resolveService).
if ($path === '/remote.php' || strpos($path, '/remote.php/') === 0) {
    header("Content-Security-Policy: default-src 'none';");
    $rest = substr($path, strlen('/remote.php/'));
    $slash = strpos((string)$rest, '/');
    $service = $slash === false ? (string)$rest : substr($rest, 0, $slash);
    if ($service === 'dav') {
        nc_dav_v2()->exec();
    } elseif ($service === 'webdav' || $service === 'files') {
        nc_dav_v1($service)->exec();
    } else {
        nc_not_found_page();
    }
    return;
}

// The front controller's entry point (lib/base.php handleRequest).
if ($path === '/' || $path === '/index.php' || $path === '/index.php/') {
    $ua = isset($_SERVER['HTTP_USER_AGENT']) ? $_SERVER['HTTP_USER_AGENT'] : '';
    if ($path === '/' && strpos($ua, 'DavClnt') === 0) {
        nc_redirect(302, '/remote.php/webdav/' . ($q === false ? '' : substr($uri, $q)));
        return;
    }
    if ($method === 'PROPFIND') {
        // "not allowed any more to prevent people mounting this root directly"
        http_response_code(405);
        return;
    }
    $accept = isset($_SERVER['HTTP_ACCEPT']) ? $_SERVER['HTTP_ACCEPT'] : '';
    if ($accept === 'application/json' || $accept === 'application/xml') {
        http_response_code(404);
        return;
    }
    nc_redirect(302, nc_basic_ok() ? $self . '/apps/dashboard/' : $self . '/login');
    return;
}

if ($path === '/login' || $path === '/index.php/login') {
    if ($method !== 'GET' && $method !== 'HEAD') {
        http_response_code(405);
        return;
    }
    nc_reply(200, 'text/html; charset=UTF-8',
        "<!DOCTYPE html>\n<html><head><title>Login – Nextcloud</title></head><body>"
        . "<form method=\"post\" name=\"login\"><input name=\"user\"><input name=\"password\" type=\"password\">"
        . "<input type=\"submit\" value=\"Log in\"></form></body></html>\n");
    return;
}

nc_not_found_page();
