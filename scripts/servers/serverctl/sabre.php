<?php
// sabre/dav 1.8 (Debian php-sabre-dav) serving one folder under /dav/ with
// Basic auth, for davsync's contract tests. Run by `php -S` as a router
// script; the paths and credentials come from the environment.
require_once 'Sabre/autoload.php';

class DavsyncBasicAuth extends Sabre\DAV\Auth\Backend\AbstractBasic {
    protected function validateUserPass($username, $password) {
        return hash_equals(getenv('DAVSYNC_SABRE_USER'), (string)$username)
            && hash_equals(getenv('DAVSYNC_SABRE_PASS'), (string)$password);
    }
}

$root = new Sabre\DAV\FSExt\Directory(getenv('DAVSYNC_SABRE_DATA'));
$server = new Sabre\DAV\Server($root);
$server->setBaseUri('/dav/');
$server->addPlugin(new Sabre\DAV\Auth\Plugin(new DavsyncBasicAuth(), 'davsync'));
$server->addPlugin(new Sabre\DAV\Locks\Plugin(
    new Sabre\DAV\Locks\Backend\File(getenv('DAVSYNC_SABRE_STATE') . '/locks')));
$server->exec();
