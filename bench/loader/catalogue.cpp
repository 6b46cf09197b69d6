#include "catalogue.hpp"

namespace hookstream::bench_load {

const std::vector<Source>& sources() {
  static const std::vector<Source> all{
      {"Stripe", "stripe", "/webhooks/stripe", "POST",
       {"invoice.paid", "payment_intent.succeeded", "customer.subscription.updated", "checkout.session.completed",
        "invoice.payment_failed", "charge.refunded"}},
      {"GitHub", "github", "/hooks/github", "POST",
       {"push", "pull_request.opened", "workflow_run.completed", "pull_request.closed", "issues.opened",
        "release.published"}},
      {"Shopify", "shopify", "/webhooks/shopify", "POST",
       {"orders/create", "orders/paid", "orders/fulfilled", "products/update", "refunds/create"}},
      {"Twilio", "twilio", "/twilio/inbound", "POST",
       {"message.received", "message.delivered", "call.completed", "message.failed"}},
      {"Clerk", "clerk", "/webhooks/clerk", "POST", {"session.created", "user.updated", "user.created", "user.deleted"}},
      {"Linear", "linear", "/linear/events", "POST", {"Issue.update", "Comment.create", "Issue.create", "Project.update"}},
      {"PagerDuty", "pagerduty", "/pagerduty/v3", "PUT",
       {"incident.triggered", "incident.acknowledged", "incident.resolved"}},
      {"SendGrid", "sendgrid", "/sendgrid/events", "POST", {"delivered", "open", "click", "bounce", "dropped"}},
      {"HubSpot", "hubspot", "/hubspot/webhook", "POST",
       {"contact.propertyChange", "deal.propertyChange", "contact.creation", "company.creation"}},
      {"Intercom", "intercom", "/intercom/topics", "POST",
       {"conversation.user.created", "conversation.admin.replied", "conversation.admin.closed"}},
      {"Segment", "segment", "/segment/track", "POST", {"track", "page", "identify", "group"}},
      {"Paddle", "paddle", "/paddle/webhooks", "PUT",
       {"transaction.completed", "subscription.created", "subscription.canceled"}},
      {"Slack", "slack", "/slack/events", "POST",
       {"message.channels", "app_mention", "reaction_added", "member_joined_channel"}},
      {"Zendesk", "zendesk", "/zendesk/triggers", "POST", {"ticket.updated", "ticket.created", "ticket.solved"}},
      {"Mailgun", "mailgun", "/mailgun/events", "POST", {"delivered", "opened", "failed", "unsubscribed", "complained"}},
      {"Plaid", "plaid", "/plaid/webhook", "POST",
       {"TRANSACTIONS.SYNC_UPDATES_AVAILABLE", "ITEM.ERROR", "AUTH.AUTOMATICALLY_VERIFIED"}},
      {"Square", "square", "/square/webhooks", "POST",
       {"payment.updated", "payment.created", "order.updated", "refund.created"}},
      {"Jira", "jira", "/jira/webhook", "POST",
       {"jira:issue_updated", "jira:issue_created", "comment_created", "sprint_started"}},
      {"Calendly", "calendly", "/calendly/hooks", "POST",
       {"invitee.created", "invitee.canceled", "routing_form_submission.created"}},
      {"DocuSign", "docusign", "/docusign/connect", "POST",
       {"envelope-sent", "recipient-completed", "envelope-completed", "envelope-declined"}},
      {"Postmark", "postmark", "/postmark/webhooks", "POST", {"Delivery", "Open", "Click", "Bounce", "SpamComplaint"}},
      {"Auth0", "auth0", "/auth0/log-stream", "POST",
       {"login.success", "token.exchange", "login.failure", "signup.success", "password.reset"}},
      {"GitLab", "gitlab", "/gitlab/hooks", "POST",
       {"Push Hook", "Pipeline Hook", "Merge Request Hook", "Tag Push Hook"}},
      {"Mux", "mux", "/mux/webhooks", "POST",
       {"video.asset.ready", "video.upload.created", "video.live_stream.active", "video.asset.errored"}},
  };
  return all;
}

const std::vector<Consumer>& consumers() {
  static const std::vector<Consumer> all{
      {"Billing service", "billing-api"},      {"Order sync", "orders-service"},
      {"CI runner", "ci-runner"},              {"SMS inbox", "sms-inbox"},
      {"User sync", "user-sync"},              {"Issue tracker", "issue-bridge"},
      {"On-call bot", "oncall-bot"},           {"Email events", "email-events"},
      {"CRM sync", "crm-sync"},                {"Support desk", "support-desk"},
      {"Analytics warehouse", "analytics-ingest"}, {"Subscriptions", "subscriptions-api"},
      {"Fraud scoring", "fraud-scoring"},      {"Audit log", "audit-log"},
      {"Notifications", "notifier"},           {"Search indexer", "search-indexer"},
      {"Data lake", "datalake-ingest"},        {"Ledger", "ledger"},
      {"Fulfilment", "fulfilment"},            {"Payouts", "payouts"},
      {"Risk engine", "risk-engine"},          {"Feature flags", "flags-sync"},
      {"Inventory", "inventory"},              {"Recommendations", "recs"},
      {"Reporting", "reporting"},
  };
  return all;
}

}  // namespace hookstream::bench_load
