variable "bot_principal_arn" {
  description = "ARN of the principal the iamwhy bot runs as (its IAM role or user), which may assume these roles."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[\\w+=,.@/-]+$", var.bot_principal_arn))
    error_message = "bot_principal_arn must be an IAM role or user ARN, e.g. arn:aws:iam::111111111111:role/iamwhy-bot."
  }
}

variable "external_id" {
  description = "The ExternalId the bot sends when assuming these roles (IAMWHY_EXTERNAL_ID)."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[\\w+=,.@:/-]{2,1224}$", var.external_id))
    error_message = "external_id must be 2 to 1224 letters, digits or +=,.@:/- characters."
  }
}

variable "create_read_role" {
  description = "Create the read-only role in this account."
  type        = bool
  default     = true
}

variable "read_role_name" {
  description = "Name of the read-only role (IAMWHY_ROLE_NAME)."
  type        = string
  default     = "IamWhyReadOnly"
}

variable "create_org_role" {
  description = "Create the organizations read role; only in the management account or a delegated administrator."
  type        = bool
  default     = false
}

variable "org_role_name" {
  description = "Name of the organizations read role (its ARN is IAMWHY_ORG_ROLE_ARN)."
  type        = string
  default     = "IamWhyOrgReadOnly"
}

variable "tags" {
  description = "Tags for the roles."
  type        = map(string)
  default     = { managed-by = "iamwhy" }
}
