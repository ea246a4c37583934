"""gunicorn's settings for every start from this directory: `make serve`, the systemd unit of docs/deploy.md
(WorkingDirectory=/srv/shuyuan/app), the tests' live servers and bench/loadtest.py.  gunicorn reads
./gunicorn.conf.py by default; the command lines give the rest (workers, bind address, --preload)."""

# gunicorn 25.1+ opens a control socket for its `gunicornc` tool at one path per user ($XDG_RUNTIME_DIR or
# $HOME/.gunicorn/gunicorn.ctl): a second master on the machine (two app nodes, a test's live server beside
# `make run`) takes it over from the first, and the socket can change the worker count.  Nothing here uses
# it: restarts and reloads go through systemd (docs/deploy.md).
control_socket_disable = True
