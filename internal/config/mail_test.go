package config

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestMailDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPHost != "" || c.SMTPPort != 587 || c.SMTPTLS != "starttls" || c.MailFrom != "usher@127.0.0.1" || c.SecretKey != "" {
		t.Fatalf("mail defaults %+v", c)
	}
	c, err = load(t, nil, "--public-url", "https://people.example.com:8443/")
	if err != nil {
		t.Fatal(err)
	}
	if c.MailFrom != "usher@people.example.com" {
		t.Fatalf("mail-from from the public URL = %q", c.MailFrom)
	}
	c, err = load(t, []string{"USHER_MAIL_FROM=Usher <noreply@example.com>", "USHER_SMTP_HOST=smtp.example.com",
		"USHER_SMTP_PORT=465", "USHER_SMTP_TLS=tls", "USHER_SMTP_USERNAME=relay", "USHER_SMTP_PASSWORD=pw"})
	if err != nil {
		t.Fatal(err)
	}
	if c.MailFrom != "Usher <noreply@example.com>" || c.SMTPHost != "smtp.example.com" || c.SMTPPort != 465 || c.SMTPTLS != "tls" ||
		c.SMTPUsername != "relay" || c.SMTPPassword != "pw" {
		t.Fatalf("mail settings %+v", c)
	}
	if _, err := load(t, nil, "--smtp-host", "::1", "--smtp-tls", "none"); err != nil {
		t.Fatalf("an IPv6 SMTP host: %v", err)
	}
}

func TestMailProblemsAreNamed(t *testing.T) {
	_, err := load(t, []string{"USHER_SMTP_TLS=ssl", "USHER_SECRET_KEY=" + base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))},
		"--smtp-host", "smtp.example.com:25", "--smtp-port", "0", "--smtp-password", "pw", "--mail-from", "not an address")
	ce, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v is not a config error", err)
	}
	msg := ce.Error()
	for _, want := range []string{"--smtp-host (USHER_SMTP_HOST, from flag)", "--smtp-port (USHER_SMTP_PORT, from flag)",
		`--smtp-tls (USHER_SMTP_TLS, from env): "ssl" is not one of starttls, tls or none`, "--smtp-username",
		"--mail-from (USHER_MAIL_FROM, from flag)", "--secret-key (USHER_SECRET_KEY, from env): the key is 16 bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "sixteen") || strings.Contains(msg, base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))) {
		t.Errorf("the error shows the secret key:\n%s", msg)
	}
	_, err = load(t, nil, "--secret-key", "not base64!")
	if err == nil || !strings.Contains(err.Error(), "--secret-key") {
		t.Fatalf("a key that is not base64: %v", err)
	}
}

func TestPrintHidesMailSecrets(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	c, err := load(t, nil, "--smtp-host", "smtp.example.com", "--smtp-username", "relay", "--smtp-password", "hunter22", "--secret-key", key)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	c.Print(&b)
	out := b.String()
	if strings.Contains(out, "hunter22") || strings.Contains(out, key) {
		t.Fatalf("Print shows a secret:\n%s", out)
	}
	for _, want := range []string{"smtp-password = (set)", "secret-key = (set)", "smtp-username = relay", "smtp-host = smtp.example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("Print lacks %q:\n%s", want, out)
		}
	}
}
