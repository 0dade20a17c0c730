return { cluster = 'c', log_level = 'warn', stop_timeout = 250,
  env = { motd = 'hi', port = 9000, debug = true },
  console_token = string.rep('k', 40),
  nodes = {
    a = { id = 12, roles = { 'net', 'db' }, log_file = 'a.log',
          env = { motd = 'node a' },
          gate = { listen = '127.0.0.1:7100', commands = { { 101, 103, 'login' } } },
          console = '127.0.0.1:7000', metrics = '127.0.0.1:7001',
          services = { 'echo 127.0.0.1:1', { 'echo', 'x y',
            mailbox_limit = 50, mailbox_bytes = 4096 }, 'bare' } },
    b = { id = 13, roles = { 'root' } },
  } }
