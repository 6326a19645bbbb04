# The policy documents live in policies/ as plain JSON so that tests can check them against iamwhy's read
# allow-list; only the trust policy is a template, filled with the bot's principal and the ExternalId.

locals {
  trust_policy = templatefile("${path.module}/policies/trust.json.tftpl", {
    bot_principal_arn = var.bot_principal_arn
    external_id       = var.external_id
  })
}

resource "aws_iam_role" "read_only" {
  count = var.create_read_role ? 1 : 0

  name                 = var.read_role_name
  description          = "iamwhy reads the policies behind an access denial here; no writes, no data."
  max_session_duration = 3600
  assume_role_policy   = local.trust_policy
  tags                 = var.tags
}

resource "aws_iam_role_policy" "read_only" {
  count = var.create_read_role ? 1 : 0

  name   = "IamWhyReadOnly"
  role   = aws_iam_role.read_only[0].id
  policy = file("${path.module}/policies/read-only.json")
}

resource "aws_iam_role" "org_read_only" {
  count = var.create_org_role ? 1 : 0

  name                 = var.org_role_name
  description          = "iamwhy reads service and resource control policies here; no writes."
  max_session_duration = 3600
  assume_role_policy   = local.trust_policy
  tags                 = var.tags
}

resource "aws_iam_role_policy" "org_read_only" {
  count = var.create_org_role ? 1 : 0

  name   = "IamWhyOrgReadOnly"
  role   = aws_iam_role.org_read_only[0].id
  policy = file("${path.module}/policies/org-read-only.json")
}
