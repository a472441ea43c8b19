# One provider block for every tenant of the mesh: each resource says which
# tenant it acts in with tenant_id. Each tenant uses exactly one credential.
provider "mto" {
  # A client certificate (PKCS#12), as pipelines without secrets use.
  tenant {
    tenant_id                   = "aaaaaaaa-0000-4000-8000-00000000000a"
    client_id                   = "a0000000-0000-4000-8000-0000000000a1"
    client_certificate_path     = "certs/tenant-a.pfx"
    client_certificate_password = var.pfx_password_a
  }
  # A federated OIDC token (workload identity federation), here from a file.
  tenant {
    tenant_id            = "bbbbbbbb-0000-4000-8000-00000000000b"
    client_id            = "b0000000-0000-4000-8000-0000000000b1"
    use_oidc             = true
    oidc_token_file_path = "/var/run/secrets/tenant-b/token"
  }
  # A client secret.
  tenant {
    tenant_id     = "cccccccc-0000-4000-8000-00000000000c"
    client_id     = "c0000000-0000-4000-8000-0000000000c1"
    client_secret = var.client_secret_c
  }

  # Defaults: Microsoft's public cloud. For the local sandbox:
  # graph_endpoint = "http://127.0.0.1:8080"
  # login_endpoint = "http://127.0.0.1:8080"
}

variable "pfx_password_a" {
  type      = string
  sensitive = true
}

variable "client_secret_c" {
  type      = string
  sensitive = true
}
