output "read_role_arn" {
  description = "The role iamwhy assumes in this account (null when not created)."
  value       = one(aws_iam_role.read_only[*].arn)
}

output "org_role_arn" {
  description = "Set IAMWHY_ORG_ROLE_ARN to this (null when not created)."
  value       = one(aws_iam_role.org_read_only[*].arn)
}
