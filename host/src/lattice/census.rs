//! Answering the control host's census (`lwc_wire::census`): which of the
//! packets it asks about this host holds, from the protocol's books.

use bytes::Bytes;

use super::Lattice;
use lwc_wire::census;

impl Lattice {
    /// Answer a census question on its reply subject, if we hold any of
    /// its packets; silence means "none of them".
    pub(super) async fn on_census(&self, msg: async_nats::Message) {
        let Some(reply) = msg.reply else {
            self.ledger.counters.reject("census");
            return;
        };
        let asked = match census::decode_ask(&msg.payload) {
            Ok(asked) => asked,
            Err(e) => {
                self.ledger.counters.reject("census");
                tracing::debug!("census question refused: {e}");
                return;
            }
        };
        let claims = self.inner().proto.claims(&asked);
        if claims.held.is_empty() && claims.ended.is_empty() {
            return;
        }
        if let Err(e) = self.client.publish(reply, Bytes::from(census::encode_answer(&claims))).await {
            tracing::debug!("census answer not sent: {e}");
        }
    }
}
