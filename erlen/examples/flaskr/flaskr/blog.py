"""The posts: list, create, update, delete."""

from erlen import abort
from erlen import Blueprint
from erlen import flash
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import url_for
from erlen.ext.login import current_user
from erlen.ext.login import login_required

from .extensions import db
from .models import Post

bp = Blueprint("blog", __name__)


@bp.route("/")
def index():
    page = db.paginate(db.select(Post).order_by(Post.created.desc()), per_page=10)
    return render_template("blog/index.html", page=page)


def get_post(id, check_author=True):
    post = db.get_or_404(Post, id, description=f"Post id {id} doesn't exist.")
    if check_author and post.author_id != current_user.id:
        abort(403)
    return post


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create():
    if request.method == "POST":
        title = request.form["title"]
        if not title:
            flash("Title is required.")
        else:
            db.session.add(Post(title=title, body=request.form["body"], author=current_user))
            db.session.commit()
            return redirect(url_for("blog.index"))

    return render_template("blog/create.html")


@bp.route("/<int:id>/update", methods=("GET", "POST"))
@login_required
def update(id):
    post = get_post(id)
    if request.method == "POST":
        title = request.form["title"]
        if not title:
            flash("Title is required.")
        else:
            post.title = title
            post.body = request.form["body"]
            db.session.commit()
            return redirect(url_for("blog.index"))

    return render_template("blog/update.html", post=post)


@bp.route("/<int:id>/delete", methods=("POST",))
@login_required
def delete(id):
    db.session.delete(get_post(id))
    db.session.commit()
    return redirect(url_for("blog.index"))
