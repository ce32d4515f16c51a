"""Every sentence the Twilio webhooks have Twilio ``<Say>``, in one place. Short: a caller is waiting."""

from __future__ import annotations

#: A call to a Twilio number no restaurant owns.
NOT_IN_SERVICE = "Sorry, this number is not in service. Goodbye."
#: The AI is off (or outside its hours) and the restaurant has no failover number.
CANNOT_TAKE_CALL = "Sorry, we can't take your call right now. Please call again later. Goodbye."
#: The caller asked for a person (the bridge recorded a requested transfer).
CONNECTING = "Connecting you with someone at the restaurant now. Please hold."
#: The AI side failed or the stream ended without the bridge saying the call was complete.
APOLOGY_CONNECTING = "I'm sorry, I'm having trouble on my end. Let me connect you with someone at the restaurant."
#: As above, but there is nobody to connect to.
APOLOGY_NO_ONE = "I'm sorry, I'm having trouble on my end and can't take your call right now. " \
                 "Please call again later. Goodbye."
#: The failover number was dialled but nobody answered (busy, no answer, failed).
NOBODY_ANSWERED = "Sorry, no one at the restaurant could take your call right now. Please try again later. Goodbye."
