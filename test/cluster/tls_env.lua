-- tls_env.lua: harbor.tls for the test configs, from the environment:
-- WISP_HARBOR_TLS "psk" runs every TCP link over TLS keyed by the secret;
-- "cert" over TLS with certificates of a cluster CA, made once in
-- WISP_HARBOR_CERTS by test/tls/make_certs.sh for the nodes given; unset,
-- links on loopback stay plaintext. Links over the same-host Unix socket
-- never use TLS: the TLS runs set WISP_SAME_HOST=0 as well. Loaded with
-- dofile by the configs: tls_env(here, { node names }).
return function(here, nodes)
	local mode = os.getenv("WISP_HARBOR_TLS")
	if mode == "psk" then
		return true
	elseif mode ~= "cert" then
		return nil
	end
	local dir = assert(os.getenv("WISP_HARBOR_CERTS"),
		"set WISP_HARBOR_CERTS to a directory for the certificates")
	assert(os.execute(here .. "/../tls/make_certs.sh " .. dir .. " "
		.. table.concat(nodes, " ")), "make_certs.sh failed")
	return { cert = dir .. "/{node}.pem", key = dir .. "/{node}.key",
		ca = dir .. "/ca.pem" }
end
