# One provider block for every tenant of the mesh: each resource says which
# tenant it acts in with tenant_id.
provider "mto" {
  tenant {
    tenant_id     = "aaaaaaaa-0000-4000-8000-00000000000a"
    client_id     = "a0000000-0000-4000-8000-0000000000a1"
    client_secret = var.client_secret_a
  }
  tenant {
    tenant_id     = "bbbbbbbb-0000-4000-8000-00000000000b"
    client_id     = "b0000000-0000-4000-8000-0000000000b1"
    client_secret = var.client_secret_b
  }

  # Defaults: Microsoft's public cloud. For the local sandbox:
  # graph_endpoint = "http://127.0.0.1:8080"
  # login_endpoint = "http://127.0.0.1:8080"
}

variable "client_secret_a" {
  type      = string
  sensitive = true
}

variable "client_secret_b" {
  type      = string
  sensitive = true
}
