/** A client certificate (self-signed, EC P-256, valid for 100 years) and its key, for the start-up checks of TLS options (no connection is made with them). Test material only. */
export const CLIENT_CERT = `-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIULzx9Hxt8GJbVH1EuggKhbrlcptYwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSc3lzbG9nLXVuaXQtY2xpZW50MCAXDTI2MTEyODAxNTExNloY
DzIxMjYxMTA0MDE1MTE2WjAdMRswGQYDVQQDDBJzeXNsb2ctdW5pdC1jbGllbnQw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASkPFvdc3wpUHbKw2c5muQNo7BHNnl+
5mOUHWBPgk9ZmHWkOjWxihKWvpGl4XF+uwXZYo1Cc4Lg5aiT/rbeU77/o1MwUTAd
BgNVHQ4EFgQU4tZ08bWq4LiQnrNUCkg0V3thw5EwHwYDVR0jBBgwFoAU4tZ08bWq
4LiQnrNUCkg0V3thw5EwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEA7QvkkxR56JZyx8isIRQXNuoy7y2LRuaivdHzcDume+MCIQCnbRyNGPSlHl60
XPWFM/i/mhCSOoW2+md091S+vMF2Cg==
-----END CERTIFICATE-----
`

export const CLIENT_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbV/qyCJ9y+Uwx4iF
rGTCoL3OXqRbbx3oRz53t2aG0OChRANCAASkPFvdc3wpUHbKw2c5muQNo7BHNnl+
5mOUHWBPgk9ZmHWkOjWxihKWvpGl4XF+uwXZYo1Cc4Lg5aiT/rbeU77/
-----END PRIVATE KEY-----
`
