"""Register, log in, log out."""

from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from erlen import Blueprint
from erlen import flash
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import url_for
from erlen.ext.login import login_required
from erlen.ext.login import login_user
from erlen.ext.login import logout_user

from .extensions import db
from .models import User

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/register", methods=("GET", "POST"))
def register():
    if request.method == "POST":
        username = request.form["username"]
        password = request.form["password"]
        error = None
        if not username:
            error = "Username is required."
        elif not password:
            error = "Password is required."
        elif User.query.filter_by(username=username).first() is not None:
            error = f"User {username} is already registered."

        if error is None:
            db.session.add(User(username=username, password=generate_password_hash(password)))
            db.session.commit()
            return redirect(url_for("auth.login"))
        flash(error)

    return render_template("auth/register.html")


@bp.route("/login", methods=("GET", "POST"))
def login():
    if request.method == "POST":
        username = request.form["username"]
        password = request.form["password"]
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar()
        if user is None or not check_password_hash(user.password, password):
            flash("Incorrect username or password.")
        else:
            login_user(user)
            return redirect(url_for("index"))

    return render_template("auth/login.html")


@bp.route("/logout", methods=("POST",))
@login_required
def logout():
    logout_user()
    return redirect(url_for("index"))
