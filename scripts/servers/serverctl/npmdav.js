// npm webdav-server v2 serving one folder under /dav/ with Basic auth, for
// davsync's contract tests. Paths and credentials come from the environment.
'use strict';
const { v2: webdav } = require('webdav-server');

const env = (k) => {
  const v = process.env[k];
  if (!v) { console.error(`npmdav: ${k} is not set`); process.exit(2); }
  return v;
};

const users = new webdav.SimpleUserManager();
const user = users.addUser(env('DAVSYNC_NPM_USER'), env('DAVSYNC_NPM_PASS'), false);
const privileges = new webdav.SimplePathPrivilegeManager();
privileges.setRights(user, '/', ['all']);

const server = new webdav.WebDAVServer({
  hostname: '127.0.0.1',
  port: Number(env('DAVSYNC_NPM_PORT')),
  requireAuthentification: true,
  httpAuthentication: new webdav.HTTPBasicAuthentication(users, 'davsync'),
  privilegeManager: privileges,
});

server.setFileSystem('/dav', new webdav.PhysicalFileSystem(env('DAVSYNC_NPM_DATA')), (ok) => {
  if (!ok) { console.error('npmdav: cannot mount /dav'); process.exit(1); }
  server.start((s) => console.log(`npmdav: listening on ${JSON.stringify(s.address())}`));
});

const stop = () => server.stop(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
