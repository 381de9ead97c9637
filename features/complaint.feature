Feature: The service desk works a customer complaint
  Complaints arrive by phone, email, web or a visit. The service desk triages them, asks
  the customer when it needs to know more, resolves them and closes them once the customer
  is satisfied. Every step lands in a history that an auditor can verify.

  Background:
    Given it is Monday 2 March 2026, 09:00 UTC
    And agent "ann" and supervisor "sam" work the service desk

  Scenario: A complaint goes from intake to closed
    When customer "C-1001" complains by email: "The March invoice charges us twice"
    Then the complaint is "received" in the "intake" queue
    When "ann" triages it as a "billing" complaint of "high" severity
    Then the complaint is "in_progress" in the "billing" queue
    And it is assigned to "ann"
    And its first response is due within 8 hours and its resolution within 40 business hours
    When "ann" asks the customer: "Which invoice number do you mean?"
    Then the complaint is "waiting_customer" in the "billing" queue
    When "ann" records the customer's answer: "INV-2026-0311"
    And 2 hours pass
    And "ann" resolves it: "Credited the duplicate charge"
    Then the complaint is "resolved" in the "billing" queue
    When "ann" closes it with a satisfaction of 5
    Then the complaint is "closed" and in no queue
    And the history reads
      | event              | who | from             | to               |
      | case.created       | ann |                  | received         |
      | case.transitioned  | ann | received         | in_progress      |
      | case.transitioned  | ann | in_progress      | waiting_customer |
      | case.transitioned  | ann | waiting_customer | in_progress      |
      | case.transitioned  | ann | in_progress      | resolved         |
      | case.transitioned  | ann | resolved         | closed           |
    And an auditor finds every history intact

  Scenario: Only a supervisor may triage a critical complaint
    Given customer "C-2002" has complained by phone: "Our whole site is offline"
    When "ann" tries to triage it as a "technical" complaint of "critical" severity
    Then it is refused by the guard 'case.severity != "critical" || actor.role == "supervisor"'
    And the complaint is "received" in the "intake" queue
    When "sam" triages it as a "technical" complaint of "critical" severity
    Then the complaint is "in_progress" in the "technical_support" queue
    And it is assigned to "sam"

  Scenario: A complaint cannot be resolved without saying how
    Given customer "C-3003" has complained by web: "The app crashes on login"
    And "ann" has triaged it as a "technical" complaint of "medium" severity
    When "ann" tries to resolve it without a resolution
    Then it is refused because it needs the field "resolution"
    And the complaint is "in_progress" in the "technical_support" queue

  Scenario: An unhappy customer's complaint is reopened, not closed
    Given customer "C-4004" has complained by visit: "The replacement part is wrong"
    And "ann" has triaged it as a "after_sales" complaint of "medium" severity
    And "ann" has resolved it: "Sent the right part"
    When "ann" tries to close it with a satisfaction of 2
    Then it is refused by the guard "case.csat >= 3"
    When 3 days pass
    And "ann" reopens it
    Then the complaint is "in_progress" in the "after_sales" queue
    And its field "reopen_count" is "1"

  Scenario: A complaint closed more than 30 days ago stays closed
    Given customer "C-5005" has complained by email: "Delivery was late"
    And "ann" has triaged it as a "after_sales" complaint of "low" severity
    And "ann" has resolved it: "Apologised and refunded shipping"
    And "ann" has closed it with a satisfaction of 4
    When 31 days pass
    And "ann" tries to reopen it
    Then it is refused by the guard 'now - case.resolved_at < duration("720h")'
    And the complaint is "closed" and in no queue

  Scenario: An auditor notices that someone rewrote the history
    Given customer "C-6006" has complained by phone: "I was overcharged"
    And "ann" has triaged it as a "billing" complaint of "high" severity
    When someone changes event 2 of the complaint's history in the database
    Then the audit reports event 2 of the complaint as altered
