//! What the schedules of `training.*` give each minibatch of a run: the learning rate of the
//! step that starts there and the training attack it is attacked with (the formulas and their
//! sources are in `advland_schema::schedule`). Both are functions of the epoch and the
//! minibatch's index in it, which a resumed run recomputes from its checkpoint's epoch, so
//! resuming stays exact.

use advland_schema::{
    BatchPosition, EpsRange, EpsSchedule, LrSchedule, PgdSettings, TrainSettings,
};

use crate::attack::Attack;

/// The schedules of one run with `batches` minibatches an epoch.
#[derive(Debug)]
pub(crate) struct RunSchedule {
    lr: f64,
    lr_schedule: LrSchedule,
    warmup_epochs: usize,
    eps_schedule: EpsSchedule,
    adversarial: Option<PgdSettings>,
    /// The configured attack, built once: every minibatch's under a constant radius.
    attack: Option<Attack>,
    epochs: usize,
    batches: usize,
}

impl RunSchedule {
    pub(crate) fn new(settings: &TrainSettings, batches: usize) -> Self {
        let t = &settings.training;
        Self {
            lr: t.lr,
            lr_schedule: t.schedule.clone(),
            warmup_epochs: t.warmup_epochs,
            eps_schedule: t.eps_schedule.clone(),
            adversarial: settings.adversarial.clone(),
            attack: settings.adversarial.clone().map(Attack::new),
            epochs: t.epochs,
            batches,
        }
    }

    fn position(&self, epoch: usize, batch: usize) -> BatchPosition {
        BatchPosition {
            epoch,
            batch,
            batches: self.batches,
            epochs: self.epochs,
        }
    }

    /// The learning rate of the step starting at minibatch `batch` of `epoch` (both from 0).
    pub(crate) fn lr(&self, epoch: usize, batch: usize) -> f64 {
        self.lr_schedule
            .lr_at(self.lr, self.warmup_epochs, self.position(epoch, batch))
    }

    /// The training attack of minibatch `batch` of `epoch`; `None` under standard training
    /// and where the scheduled radius is 0.
    pub(crate) fn attack(&self, epoch: usize, batch: usize) -> Option<Attack> {
        let base = self.adversarial.as_ref()?;
        if self.eps_schedule.is_constant() {
            return self.attack.clone();
        }
        self.eps_schedule
            .attack_at(base, self.position(epoch, batch))
            .map(Attack::new)
    }

    /// The radii of the first `served` minibatches of `epoch` (all of them when none was).
    pub(crate) fn eps_range(&self, epoch: usize, served: usize) -> Option<EpsRange> {
        let base = self.adversarial.as_ref()?;
        let mut radii =
            (0..served.max(1)).map(|b| self.eps_schedule.eps_at(base.eps, self.position(epoch, b)));
        let first = radii.next()?;
        Some(radii.fold(
            EpsRange {
                min: first,
                max: first,
            },
            |r, e| EpsRange {
                min: r.min.min(e),
                max: r.max.max(e),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use advland_schema::Norm;

    #[test]
    fn eps_warmup_gives_clean_first_batches_and_the_range_of_the_epoch() {
        let mut s = TrainSettings {
            adversarial: Some(PgdSettings::new(Norm::L2, 1.0, 4)),
            ..TrainSettings::default()
        };
        s.training.epochs = 4;
        s.training.eps_schedule = EpsSchedule::Linear {
            epochs: 2,
            start: 0.0,
        };
        let r = RunSchedule::new(&s, 4);
        assert!(r.attack(0, 0).is_none());
        let a = r.attack(0, 2).unwrap();
        assert_eq!(a.settings().eps, 0.25);
        assert_eq!(a.constraint().eps(), 0.25);
        assert_eq!(
            r.attack(3, 1).unwrap().settings(),
            s.adversarial.as_ref().unwrap()
        );
        assert_eq!(
            r.eps_range(0, 4),
            Some(EpsRange {
                min: 0.0,
                max: 0.375
            })
        );
        assert_eq!(
            r.eps_range(1, 2),
            Some(EpsRange {
                min: 0.5,
                max: 0.625
            })
        );
        s.adversarial = None;
        s.training.eps_schedule = EpsSchedule::Constant;
        let clean = RunSchedule::new(&s, 4);
        assert!(clean.attack(0, 0).is_none() && clean.eps_range(0, 4).is_none());
    }
}
